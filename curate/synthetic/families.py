"""Procedural math problem families with exact answers and explicit difficulty levels.

Each family maps (rng, level) to (problem, answer); level 1 is the easiest. Levels grow the
number of steps and the size of the numbers, so later stages get seeds whose difficulty is
known in advance. `echo_number` and `compare` exist because the embedded models (SmolLM2-135M,
Gemma 3 270M) fail even one-digit sums: measured on them, copying a number is the family where
pass rate falls with its level (see DESIGN.md).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

Family = Callable[[random.Random, int], tuple[str, str]]
LEVELS = (1, 2, 3, 4, 5)

_NAMES = ("Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonah")
_ITEMS = ("apples", "marbles", "stickers", "books", "coins", "pencils", "shells", "cards")


def _digits(rng: random.Random, n: int) -> int:
    return rng.randint(10 ** (n - 1), 10**n - 1) if n > 1 else rng.randint(1, 9)


def arithmetic_chain(rng: random.Random, level: int) -> tuple[str, str]:
    """`level` steps of buying and giving away, numbers with ceil(level/2) digits."""
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    size = (level + 1) // 2
    total = _digits(rng, size + 1)
    sentences = [f"{name} has {total} {item}."]
    for _ in range(level):
        amount = _digits(rng, size)
        if rng.random() < 0.5 or amount > total:
            total += amount
            sentences.append(f"Then {name} gets {amount} more.")
        else:
            total -= amount
            sentences.append(f"Then {name} gives away {amount}.")
    sentences.append(f"How many {item} does {name} have now?")
    return " ".join(sentences), str(total)


def rates(rng: random.Random, level: int) -> tuple[str, str]:
    """Distance over `level` legs at whole speeds; more legs and larger speeds as level rises."""
    legs = [(rng.randint(2, 6 * level) * 5, rng.randint(1, 1 + level)) for _ in range(level)]
    parts = [f"{h} hour{'s' * (h != 1)} at {speed} km/h" for speed, h in legs]
    trip = parts[0] if len(parts) == 1 else ", then ".join(parts)
    distance = sum(speed * hours for speed, hours in legs)
    return f"A train travels {trip}. How many kilometres does it travel in total?", str(distance)


def linear_equation(rng: random.Random, level: int) -> tuple[str, str]:
    """a*x + b = c (level 1) up to terms in x on both sides with larger coefficients."""
    x = rng.randint(-5 * level, 5 * level)
    a = rng.randint(2, 3 + 2 * level)
    b = rng.randint(-10 * level, 10 * level)
    if level <= 2:
        return f"Solve for x: {a}x + {b} = {a * x + b}.".replace("+ -", "- "), str(x)
    d = rng.randint(1, a - 1)
    e = rng.randint(-10 * level, 10 * level)
    c = a * x + b - d * x - e  # a x + b = d x + e + c
    lhs = f"{a}x + {b}".replace("+ -", "- ")
    rhs = f"{d}x + {e + c}".replace("+ -", "- ")
    return f"Solve for x: {lhs} = {rhs}.", str(x)


def modular(rng: random.Random, level: int) -> tuple[str, str]:
    """Remainders: of an n-digit number (levels 1-3), then of a power (levels 4-5)."""
    m = rng.randint(3, 5 + 3 * level)
    if level <= 3:
        n = _digits(rng, 1 + level)
        return f"What is the remainder when {n} is divided by {m}?", str(n % m)
    base, exponent = rng.randint(2, 9), rng.randint(5 * level, 20 * level)
    return (
        f"What is the remainder when {base}^{exponent} is divided by {m}?",
        str(pow(base, exponent, m)),
    )


def combinatorics(rng: random.Random, level: int) -> tuple[str, str]:
    """Choose (1-2), arrange (3), arrangements of a word with repeated letters (4-5)."""
    if level <= 2:
        n = rng.randint(4, 6 + 3 * level)
        k = rng.randint(2, min(n - 1, 1 + level))
        return (
            f"In how many ways can a team of {k} be chosen from {n} people?",
            str(math.comb(n, k)),
        )
    if level == 3:
        n, k = rng.randint(5, 9), rng.randint(2, 4)
        return (
            f"In how many ways can the first {k} places of a race with {n} runners be filled?",
            str(math.perm(n, k)),
        )
    letters = rng.sample("ABCDEFGH", 2 + level - 3)
    counts = [rng.randint(1, level - 1) for _ in letters]
    word = "".join(letter * c for letter, c in zip(letters, counts, strict=True))
    total = math.factorial(len(word))
    for c in counts:
        total //= math.factorial(c)
    return f"How many distinct arrangements of the letters of {word} are there?", str(total)


def echo_number(rng: random.Random, level: int) -> tuple[str, str]:
    """Repeat a number of 2, 4, 8, 16, 32 digits (level 1-5)."""
    digits = 2**level
    number = str(_digits(rng, digits))
    return f"Repeat this number exactly, digit for digit: {number}", number


def compare(rng: random.Random, level: int) -> tuple[str, str]:
    """The larger of two numbers with `level` digits that share a prefix as level rises."""
    a = _digits(rng, level)
    b = a + rng.choice((-1, 1)) * rng.randint(1, max(1, 10 ** max(level - 2, 0)))
    b = max(b, 0)
    if a == b:
        b += 1
    return f"Which number is larger, {a} or {b}? Answer with the number.", str(max(a, b))


def reverse_digits(rng: random.Random, level: int) -> tuple[str, str]:
    """Reverse a number of `level` digits (no trailing zero, so the answer has no leading one).

    Measured on SmolLM2-135M with 3-shot completion prompts: 80% at one digit (the identity),
    20% at two, about 0 from three on: the family with a steep pass-rate gradient for it."""
    number = str(_digits(rng, level))
    while level > 1 and number.endswith("0"):
        number = str(_digits(rng, level))
    return f"Write the digits of {number} in reverse order.", number[::-1]


FAMILIES: dict[str, Family] = {
    "arithmetic_chain": arithmetic_chain,
    "rates": rates,
    "linear_equation": linear_equation,
    "modular": modular,
    "combinatorics": combinatorics,
    "echo_number": echo_number,
    "compare": compare,
    "reverse_digits": reverse_digits,
}
