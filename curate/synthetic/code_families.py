"""Procedural code families: function tasks with a reference program, a worked solution and
hidden call-based tests, at levels 1-5.

Each family maps (rng, level) to a `CodeTask`. The expected outputs are computed by the
family's own Python (`compute`), never by running the program text: the ingest of these seeds
then runs each reference program against its tests in the sandbox (3 of 3 runs), which checks
that the program text and the computation agree. Level 1 asks for a one-line function with an
example in the statement; the levels add operations, conditions and loops, so a weak model
(SmolLM2-135M) passes the easiest and fails the hardest (the README's "Code seeds" table).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TESTS_PER_TASK = 6


@dataclass(frozen=True)
class CodeTask:
    problem: str
    program: str  # the reference program, a complete module defining `entry_point`
    steps: tuple[str, ...]  # the worked solution, one step per line
    entry_point: str
    cases: tuple[tuple[tuple[Any, ...], Any], ...]  # (args, expected) per hidden test

    @property
    def solution(self) -> str:
        return "\n".join(self.steps)

    def test_spec(self) -> dict[str, Any]:
        """The tests as a quality.execute.TestSpec object (call-based)."""
        cases = [{"args": list(args), "expected": out} for args, out in self.cases]
        return {"judge": "call", "entry_point": self.entry_point, "cases": cases}


CodeFamily = Callable[[random.Random, int], CodeTask]


def _task(
    name: str,
    params: str,
    statement: str,
    body: list[str],
    steps: list[str],
    inputs: list[tuple[Any, ...]],
    compute: Callable[..., Any],
) -> CodeTask:
    """A task whose statement shows the first case as an example and hides the rest."""
    program = f"def {name}({params}):\n" + "".join(f"    {line}\n" for line in body)
    cases = tuple((args, compute(*args)) for args in inputs)
    (_, out), shown = cases[0], ", ".join(repr(a) for a in cases[0][0])
    problem = (
        f"Write a Python function `{name}({params})` that {statement}\n"
        f"Example: {name}({shown}) returns {out!r}."
    )
    return CodeTask(problem, program, tuple(steps), name, cases)


def arithmetic_function(rng: random.Random, level: int) -> CodeTask:
    """A function of one integer: x + a (1), a x + b (2), (x + a)(x - b) (3), a branch on
    parity (4), a sum over range(x) with a condition (5)."""
    a, b = rng.randint(2, 9), rng.randint(1, 9)
    xs = [(rng.randint(0, 20),) for _ in range(TESTS_PER_TASK)]
    if level == 1:
        return _task(
            f"add_{a}",
            "x",
            f"returns x plus {a}.",
            [f"return x + {a}"],
            [f"The result is the input plus {a}.", f"So the function returns x + {a}."],
            xs,
            lambda x: x + a,
        )
    if level == 2:
        return _task(
            "scale_shift",
            "x",
            f"returns {a} times x, plus {b}.",
            [f"return {a} * x + {b}"],
            [f"Multiply x by {a}.", f"Add {b} to the product.", f"Return {a} * x + {b}."],
            xs,
            lambda x: a * x + b,
        )
    if level == 3:
        return _task(
            "product_form",
            "x",
            f"returns (x + {a}) multiplied by (x - {b}).",
            [f"return (x + {a}) * (x - {b})"],
            [f"First factor: x + {a}.", f"Second factor: x - {b}.", "Return their product."],
            xs,
            lambda x: (x + a) * (x - b),
        )
    if level == 4:
        return _task(
            "parity_rule",
            "x",
            f"returns x // 2 when x is even, and {a} * x + {b} when x is odd.",
            ["if x % 2 == 0:", "    return x // 2", f"return {a} * x + {b}"],
            [
                "Check whether x is even with x % 2 == 0.",
                "If it is, return x // 2 (integer halving).",
                f"Otherwise return {a} * x + {b}.",
            ],
            xs,
            lambda x: x // 2 if x % 2 == 0 else a * x + b,
        )
    return _task(
        "sum_multiples",
        "x",
        f"returns the sum of the numbers i in range(x) that are multiples of {a} or of {b + 1}.",
        [
            "total = 0",
            "for i in range(x):",
            f"    if i % {a} == 0 or i % {b + 1} == 0:",
            "        total += i",
            "return total",
        ],
        [
            "Start a total at 0.",
            "Go through every i from 0 to x - 1.",
            f"Add i when i % {a} == 0 or i % {b + 1} == 0.",
            "Return the total after the loop.",
        ],
        [(rng.randint(5, 60),) for _ in range(TESTS_PER_TASK)],
        lambda x: sum(i for i in range(x) if i % a == 0 or i % (b + 1) == 0),
    )


def _lists(rng: random.Random, size: int) -> list[tuple[Any, ...]]:
    return [
        ([rng.randint(-9, 20) for _ in range(rng.randint(1, size))],) for _ in range(TESTS_PER_TASK)
    ]


def list_function(rng: random.Random, level: int) -> CodeTask:
    """A function of a list of integers: its first element (1), its sum (2), how many exceed
    k (3), the even-index elements doubled (4), the length of the longest strictly
    increasing run (5)."""
    k = rng.randint(0, 9)
    if level == 1:
        return _task(
            "first_item",
            "xs",
            "returns the first element of the list xs.",
            ["return xs[0]"],
            ["The first element of a list is at index 0.", "Return xs[0]."],
            _lists(rng, 5),
            lambda xs: xs[0],
        )
    if level == 2:
        return _task(
            "total",
            "xs",
            "returns the sum of the integers in the list xs.",
            ["return sum(xs)"],
            ["Add up every element of xs.", "Python's sum does exactly that: return sum(xs)."],
            _lists(rng, 6),
            lambda xs: sum(xs),
        )
    if level == 3:
        return _task(
            "count_above",
            "xs",
            f"returns how many integers in the list xs are greater than {k}.",
            [f"return sum(1 for v in xs if v > {k})"],
            [
                f"Look at each element v and keep those with v > {k}.",
                "Count them and return the count.",
            ],
            _lists(rng, 8),
            lambda xs: sum(1 for v in xs if v > k),
        )
    if level == 4:
        return _task(
            "double_even_positions",
            "xs",
            "returns a new list with the elements at even indices (0, 2, 4, ...) of xs doubled "
            "and the others unchanged.",
            ["return [v * 2 if i % 2 == 0 else v for i, v in enumerate(xs)]"],
            [
                "Walk through xs with enumerate to get each index i and value v.",
                "When i is even, put v * 2 in the result; otherwise put v.",
                "Return the new list.",
            ],
            _lists(rng, 8),
            lambda xs: [v * 2 if i % 2 == 0 else v for i, v in enumerate(xs)],
        )
    return _task(
        "longest_rising_run",
        "xs",
        "returns the length of the longest run of consecutive elements of xs in which each "
        "element is strictly greater than the one before.",
        [
            "best = run = 1",
            "for i in range(1, len(xs)):",
            "    run = run + 1 if xs[i] > xs[i - 1] else 1",
            "    best = max(best, run)",
            "return best",
        ],
        [
            "A single element is a run of length 1, so best and run start at 1.",
            "For each i from 1, extend the run when xs[i] > xs[i - 1], else restart it at 1.",
            "Keep the largest run seen in best.",
            "Return best.",
        ],
        _lists(rng, 10),
        _longest_rising_run,
    )


def _longest_rising_run(xs: list[int]) -> int:
    best = run = 1
    for i in range(1, len(xs)):
        run = run + 1 if xs[i] > xs[i - 1] else 1
        best = max(best, run)
    return best


_WORDS = ("apple", "banana", "cherry", "teachable", "python", "reason", "sandbox", "level")


def _strings(rng: random.Random) -> list[tuple[Any, ...]]:
    return [(" ".join(rng.sample(_WORDS, rng.randint(1, 3))),) for _ in range(TESTS_PER_TASK)]


def string_function(rng: random.Random, level: int) -> CodeTask:
    """A function of a string: upper case (1), reversed (2), vowel count (3), every other
    character upper-cased (4), run-length encoding (5)."""
    if level == 1:
        return _task(
            "shout",
            "s",
            "returns the string s in upper case.",
            ["return s.upper()"],
            ["Python strings have an upper() method.", "Return s.upper()."],
            _strings(rng),
            lambda s: s.upper(),
        )
    if level == 2:
        return _task(
            "backwards",
            "s",
            "returns the string s reversed.",
            ["return s[::-1]"],
            ["A slice with step -1 walks the string from the end.", "Return s[::-1]."],
            _strings(rng),
            lambda s: s[::-1],
        )
    if level == 3:
        return _task(
            "count_vowels",
            "s",
            "returns how many characters of s are vowels (a, e, i, o, u).",
            ['return sum(1 for c in s if c in "aeiou")'],
            [
                "Go through the characters of s.",
                'Count those that are in "aeiou".',
                "Return the count.",
            ],
            _strings(rng),
            lambda s: sum(1 for c in s if c in "aeiou"),
        )
    if level == 4:
        return _task(
            "alternate_case",
            "s",
            "returns s with the characters at even indices upper-cased and the others unchanged.",
            ['return "".join(c.upper() if i % 2 == 0 else c for i, c in enumerate(s))'],
            [
                "Walk through s with enumerate to get each index i and character c.",
                "Upper-case c when i is even, keep it otherwise.",
                "Join the characters and return them.",
            ],
            _strings(rng),
            lambda s: "".join(c.upper() if i % 2 == 0 else c for i, c in enumerate(s)),
        )
    return _task(
        "run_length",
        "s",
        "returns the run-length encoding of s: each run of one repeated character becomes the "
        'character followed by the run\'s length, e.g. "aab" -> "a2b1".',
        [
            'out = ""',
            "i = 0",
            "while i < len(s):",
            "    j = i",
            "    while j < len(s) and s[j] == s[i]:",
            "        j += 1",
            "    out += s[i] + str(j - i)",
            "    i = j",
            "return out",
        ],
        [
            "Scan s from the left with an index i.",
            "From i, move j right while s[j] equals s[i]: that is one run.",
            "Append the character and the run length j - i.",
            "Continue from j; return the joined text.",
        ],
        [
            ("".join(rng.choice("aab") * rng.randint(1, 3) for _ in range(rng.randint(2, 5))),)
            for _ in range(TESTS_PER_TASK)
        ],
        _run_length,
    )


def _run_length(s: str) -> str:
    out, i = "", 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out += s[i] + str(j - i)
        i = j
    return out


CODE_FAMILIES: dict[str, CodeFamily] = {
    "arithmetic_function": arithmetic_function,
    "list_function": list_function,
    "string_function": string_function,
}
