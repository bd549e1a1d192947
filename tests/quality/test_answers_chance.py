"""Chance rates: what a uniform guess among the answers a problem offers gets right."""

from __future__ import annotations

import random

import pytest

from curate.synthetic.families import FAMILIES, LEVELS
from quality.answers.chance import chance_rate, chance_rates

GPQA = (
    "Which option could be their energy difference? A) 10^-4 eV B) 10^-11 eV C) 10^-8 eV "
    "D) 10^-9 eV"
)


@pytest.mark.parametrize(
    ("problem", "answer", "kind", "rate"),
    [
        (GPQA, "A", "choice", 1 / 4),
        ("Pick one. (A) red (B) blue (C) green", "B", None, 1 / 3),
        ("Which is it? A. 1 B. 2", "B", "choice", 1 / 2),
        ("Which statement is true about the cell?", "C", "choice", 1 / 4),  # labels not listed
        ("Is 91 a prime number?", "No", None, 1 / 2),
        ("True or false: every square is a rectangle.", "true", None, 1 / 2),
        ("Which number is larger, 512 or 498? Answer with the number.", "512", "number", 1 / 2),
        ("Should Ava pick 3, 5, or 8?", "5", None, 1 / 3),
        ("Is the coin more likely to land heads or tails?", "tails", "text", 1 / 2),
        ("What is the remainder when 1234 is divided by 7?", "2", None, 1 / 7),
        ("What is the units digit of 3^7?", "7", None, 1 / 10),
        # open answers: no chance, even with an "or" or a remainder in the text
        ("Natalia sold 48 or 50 clips in April; how many in May?", "24", None, 0.0),
        ("Which is heavier, a kilogram of feathers or a kilogram of steel?", "same", None, 0.0),
        ("What is the remainder when 10^9 is divided by 97?", "19", None, 0.0),
        ("What is 12 + 30?", "42", None, 0.0),
        ("Solve for x: 2x + 3 = 7.", None, None, 0.0),
    ],
)
def test_chance_rate_by_answer_type(
    problem: str, answer: str | None, kind: str | None, rate: float
) -> None:
    assert chance_rate(problem, answer, kind) == pytest.approx(rate)


def test_synthetic_families_compare_is_the_guessable_one() -> None:
    """Of the synthetic families only `compare` offers its answer among two (at every level);
    `modular` does when its divisor is at most 10."""
    for family, make in FAMILIES.items():
        for level in LEVELS:
            problem, answer = make(random.Random(level), level)[:2]
            rate = chance_rate(problem, answer)
            if family == "compare":
                assert rate == 0.5, problem
            elif family != "modular":
                assert rate == 0.0, problem


def test_chance_rates_is_the_columnwise_form() -> None:
    problems = [GPQA, "What is 2 + 2?"]
    assert chance_rates(problems, ["A", "4"], ["choice", None]) == [0.25, 0.0]
