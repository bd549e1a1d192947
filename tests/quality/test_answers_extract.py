"""Final-answer extraction: boxed, '####', 'Answer:', choice letters, last number, <think>."""

from __future__ import annotations

import pytest

from quality.answers import extract_answer, gsm8k_answer, last_boxed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so $\\boxed{5}$", "5"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("first \\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),  # escaped braces do not close the box
        (
            "\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}",
            "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
        ),
        ("\\fbox{a{b}c}", "a{b}c"),
        ("\\boxed {7}", "7"),
        ("\\boxed 7", "7"),
        ("no box here", None),
        ("\\boxed{unclosed", None),
        ("", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She pays 5 + 13 = 18.\n#### 18", "18"),
        ("#### 1,000", "1000"),
        ("#### 1,234,567", "1234567"),
        ("#### $1,000 dollars", "$1000 dollars"),
        ("#### (12,102)", "(12,102)"),
        ("#### 1,2", "1,2"),
        ("a #### 3 then #### -4 ", "-4"),
        ("####  2.5\nextra line", "2.5"),
        ("no hashes", None),
        ("#### ", None),
    ],
)
def test_gsm8k_answer(text: str, expected: str | None) -> None:
    assert gsm8k_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "answer_type", "expected"),
    [
        ("We get 4, so \\boxed{\\sqrt{2}} and then 7", None, "\\sqrt{2}"),
        ("\\boxed{3} beats #### 4", None, "3"),
        ("work\n#### 72", None, "72"),
        ("The answer is 42.", None, "42"),
        ("Answer: $\\frac{3}{4}$", None, "\\frac{3}{4}"),
        ("So the final answer is 12 dollars.", None, "12 dollars"),
        ("**Answer:** 7", None, "7"),
        ("**Final Answer**: 8", None, "8"),
        ("The answer is 42 because 6 * 7 = 42.", None, "42"),
        ("The answer is 3.5. Then we check it.", None, "3.5"),
        ("So the answer is 1, 2, 3; all others fail", None, "1, 2, 3"),
        ("The answer is $5$ dollars, since each costs 1", None, "5 dollars"),
        ("Answer: \\$1,250.", None, "1,250"),
        ("### Final answer\nThe final answer is 1.5 m.", None, "1.5 m"),
        ("I counted 3 cats and 1,250 dogs", None, "1250"),
        ("The total is -3.5 degrees", None, "-3.5"),
        ("nothing numeric here", None, None),
        ("", None, None),
        # choice letters
        ("The answer is (B).", "choice", "B"),
        ("After checking, I pick C", "choice", "C"),
        ("A) 12\nB) 14\nThe correct option is D", "choice", "D"),
        ("**Answer:** C", "choice", "C"),
        ("Answer: A", "choice", "A"),
        ("I think so.\n\nB", "choice", "B"),
        ("\\boxed{D}", "choice", "D"),
        ("It is (E), not (A)... wait, (A)", "choice", "A"),
        # <think>: the text after it wins; the reasoning is only a fallback
        ("<think>maybe 5? \\boxed{5}</think>The answer is 6.", None, "6"),
        ("<think>I guess B</think>\nAnswer: (C)", "choice", "C"),
        ("<think>it is \\boxed{9}</think>", None, "9"),
        ("<think>compute 8 then 10</think>\n\n", None, "10"),
        ("<think>still thinking about 3", None, "3"),
    ],
)
def test_extract_answer(text: str, answer_type: str | None, expected: str | None) -> None:
    assert extract_answer(text, answer_type) == expected
