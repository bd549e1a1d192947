"""Procedural math problem families with exact answers, worked solutions and difficulty levels.

Each family maps (rng, level) to a `Problem`: the text, the exact answer and a step-by-step
worked solution whose last step states the answer. Level 1 is the easiest; levels grow the
number of steps and the size of the numbers, so later stages get seeds whose difficulty is known
in advance. The worked solution is what lets the `synthetic` teacher (synth/backends/
synthetic.py) write correct `<think>` traces offline. `echo_number`, `reverse_digits` and
`compare` exist because the embedded models (SmolLM2-135M, Gemma 3 270M) fail even one-digit
sums: measured on them, copying and reversing are the families where pass rate falls with the
level (see DESIGN.md); `compare` is two-option, so a guess passes half the time
(quality.answers.chance_rate).

The solutions are computed from the values drawn, after all draws: adding them changed no
problem text or answer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import NamedTuple


class Problem(NamedTuple):
    problem: str
    answer: str
    steps: tuple[str, ...]  # the worked solution, one step per line

    @property
    def solution(self) -> str:
        return "\n".join(self.steps)


Family = Callable[[random.Random, int], Problem]
LEVELS = (1, 2, 3, 4, 5)

_NAMES = ("Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonah")
_ITEMS = ("apples", "marbles", "stickers", "books", "coins", "pencils", "shells", "cards")


def _digits(rng: random.Random, n: int) -> int:
    return rng.randint(10 ** (n - 1), 10**n - 1) if n > 1 else rng.randint(1, 9)


def _signed(value: int) -> str:
    """' + 5' or ' - 5': a term added to an expression."""
    return f" + {value}" if value >= 0 else f" - {-value}"


def arithmetic_chain(rng: random.Random, level: int) -> Problem:
    """`level` steps of buying and giving away, numbers with ceil(level/2) digits."""
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    size = (level + 1) // 2
    total = _digits(rng, size + 1)
    sentences = [f"{name} has {total} {item}."]
    steps = [f"{name} starts with {total} {item}."]
    for _ in range(level):
        amount = _digits(rng, size)
        if rng.random() < 0.5 or amount > total:
            steps.append(f"{name} gets {amount} more: {total} + {amount} = {total + amount}.")
            total += amount
            sentences.append(f"Then {name} gets {amount} more.")
        else:
            steps.append(f"{name} gives away {amount}: {total} - {amount} = {total - amount}.")
            total -= amount
            sentences.append(f"Then {name} gives away {amount}.")
    sentences.append(f"How many {item} does {name} have now?")
    steps.append(f"So {name} has {total} {item} now.")
    return Problem(" ".join(sentences), str(total), tuple(steps))


def rates(rng: random.Random, level: int) -> Problem:
    """Distance over `level` legs at whole speeds; more legs and larger speeds as level rises."""
    legs = [(rng.randint(2, 6 * level) * 5, rng.randint(1, 1 + level)) for _ in range(level)]
    parts = [f"{h} hour{'s' * (h != 1)} at {speed} km/h" for speed, h in legs]
    trip = parts[0] if len(parts) == 1 else ", then ".join(parts)
    distance = sum(speed * hours for speed, hours in legs)
    steps = [
        f"Leg {i}: {h} * {speed} = {h * speed} km." for i, (speed, h) in enumerate(legs, start=1)
    ]
    if len(legs) > 1:
        total = " + ".join(str(speed * h) for speed, h in legs)
        steps.append(f"Total: {total} = {distance} km.")
    steps.append(f"The train travels {distance} km.")
    return Problem(
        f"A train travels {trip}. How many kilometres does it travel in total?",
        str(distance),
        tuple(steps),
    )


def _solve_steps(a: int, b: int, c: int, x: int) -> list[str]:
    """a x + b = c down to x."""
    return [
        f"Move {b} to the right side: {a}x = {c}{_signed(-b)} = {c - b}.",
        f"Divide both sides by {a}: x = {c - b} / {a} = {x}.",
    ]


def linear_equation(rng: random.Random, level: int) -> Problem:
    """a*x + b = c (level 1) up to terms in x on both sides with larger coefficients."""
    x = rng.randint(-5 * level, 5 * level)
    a = rng.randint(2, 3 + 2 * level)
    b = rng.randint(-10 * level, 10 * level)
    if level <= 2:
        steps = [*_solve_steps(a, b, a * x + b, x), f"So x = {x}."]
        return Problem(f"Solve for x: {a}x{_signed(b)} = {a * x + b}.", str(x), tuple(steps))
    d = rng.randint(1, a - 1)
    e = rng.randint(-10 * level, 10 * level)
    c = a * x + b - d * x - e  # a x + b = d x + e + c
    lhs = f"{a}x{_signed(b)}"
    rhs = f"{d}x{_signed(e + c)}"
    steps = [
        f"Subtract {d}x from both sides: {a - d}x{_signed(b)} = {e + c}.",
        *_solve_steps(a - d, b, e + c, x),
        f"So x = {x}.",
    ]
    return Problem(f"Solve for x: {lhs} = {rhs}.", str(x), tuple(steps))


def _power_steps(base: int, exponent: int, m: int) -> list[str]:
    """base^exponent mod m by the cycle of the powers' remainders."""
    seen: dict[int, int] = {}
    powers: list[int] = []
    value = base % m
    while value not in seen:
        seen[value] = len(powers) + 1
        powers.append(value)
        value = value * base % m
    start, period = seen[value], len(powers) + 1 - seen[value]
    listed = ", ".join(f"{base}^{i} -> {r}" for i, r in enumerate(powers, start=1))
    steps = [
        f"Remainders of powers of {base} modulo {m}: {listed}.",
        f"{base}^{len(powers) + 1} leaves {value} again, so from {base}^{start} on the remainders "
        f"repeat every {period}.",
    ]
    offset = (exponent - start) % period
    steps.append(
        f"({exponent} - {start}) mod {period} = {offset}, so {base}^{exponent} leaves the same "
        f"remainder as {base}^{start + offset}: {powers[start + offset - 1]}."
    )
    return steps


def modular(rng: random.Random, level: int) -> Problem:
    """Remainders: of an n-digit number (levels 1-3), then of a power (levels 4-5)."""
    m = rng.randint(3, 5 + 3 * level)
    if level <= 3:
        n = _digits(rng, 1 + level)
        q = n // m
        steps: tuple[str, ...] = (
            f"{n} = {m} * {q} + {n - m * q}, since {m} * {q} = {m * q} and "
            f"{n} - {m * q} = {n - m * q} is less than {m}.",
            f"The remainder is {n % m}.",
        )
        return Problem(f"What is the remainder when {n} is divided by {m}?", str(n % m), steps)
    base, exponent = rng.randint(2, 9), rng.randint(5 * level, 20 * level)
    answer = pow(base, exponent, m)
    steps = (*_power_steps(base, exponent, m), f"The remainder is {answer}.")
    return Problem(
        f"What is the remainder when {base}^{exponent} is divided by {m}?", str(answer), steps
    )


def _falling(n: int, k: int) -> str:
    return " * ".join(str(n - i) for i in range(k))


def combinatorics(rng: random.Random, level: int) -> Problem:
    """Choose (1-2), arrange (3), arrangements of a word with repeated letters (4-5)."""
    if level <= 2:
        n = rng.randint(4, 6 + 3 * level)
        k = rng.randint(2, min(n - 1, 1 + level))
        answer = math.comb(n, k)
        steps: tuple[str, ...] = (
            f"Choosing {k} of {n} when order does not matter: C({n}, {k}) = "
            f"({_falling(n, k)}) / {k}!.",
            f"{_falling(n, k)} = {math.perm(n, k)} and {k}! = {math.factorial(k)}.",
            f"{math.perm(n, k)} / {math.factorial(k)} = {answer}.",
        )
        question = f"In how many ways can a team of {k} be chosen from {n} people?"
        return Problem(question, str(answer), steps)
    if level == 3:
        n, k = rng.randint(5, 9), rng.randint(2, 4)
        steps = (
            f"The first place has {n} choices, the next {n - 1}, and so on for {k} places.",
            f"{_falling(n, k)} = {math.perm(n, k)}.",
        )
        question = (
            f"In how many ways can the first {k} places of a race with {n} runners be filled?"
        )
        return Problem(question, str(math.perm(n, k)), steps)
    letters = rng.sample("ABCDEFGH", 2 + level - 3)
    counts = [rng.randint(1, level - 1) for _ in letters]
    word = "".join(letter * c for letter, c in zip(letters, counts, strict=True))
    total = math.factorial(len(word))
    for c in counts:
        total //= math.factorial(c)
    each = ", ".join(
        f"{letter} {c} time{'s' * (c != 1)}" for letter, c in zip(letters, counts, strict=True)
    )
    below = " * ".join(f"{c}!" for c in counts)
    divisor = math.prod(math.factorial(c) for c in counts)
    steps = (
        f"{word} has {len(word)} letters: {each}.",
        f"Arrangements: {len(word)}! / ({below}) = {math.factorial(len(word))} / {divisor}.",
        f"{math.factorial(len(word))} / {divisor} = {total}.",
    )
    question = f"How many distinct arrangements of the letters of {word} are there?"
    return Problem(question, str(total), steps)


def echo_number(rng: random.Random, level: int) -> Problem:
    """Repeat a number of 2, 4, 8, 16, 32 digits (level 1-5)."""
    digits = 2**level
    number = str(_digits(rng, digits))
    groups = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    steps = (
        f"The number has {digits} digits; in groups of four: {groups}.",
        f"Copied digit for digit: {number}.",
    )
    return Problem(f"Repeat this number exactly, digit for digit: {number}", number, steps)


def _compare_steps(a: int, b: int) -> tuple[str, ...]:
    big = max(a, b)
    x, y = str(a), str(b)
    if len(x) != len(y):
        longer = x if len(x) > len(y) else y
        return (f"{longer} has more digits, so it is the larger number.", f"The larger is {big}.")
    i = next(i for i in range(len(x)) if x[i] != y[i])
    agree = f"They agree in the first {i} digit{'s' * (i != 1)}; " if i else ""
    return (
        f"{x} and {y} both have {len(x)} digit{'s' * (len(x) != 1)}.",
        f"{agree}digit {i + 1} is {x[i]} in {x} and {y[i]} in {y}.",
        f"{max(x[i], y[i])} > {min(x[i], y[i])}, so the larger is {big}.",
    )


def compare(rng: random.Random, level: int) -> Problem:
    """The larger of two numbers with `level` digits that share a prefix as level rises."""
    a = _digits(rng, level)
    b = a + rng.choice((-1, 1)) * rng.randint(1, max(1, 10 ** max(level - 2, 0)))
    b = max(b, 0)
    if a == b:
        b += 1
    return Problem(
        f"Which number is larger, {a} or {b}? Answer with the number.",
        str(max(a, b)),
        _compare_steps(a, b),
    )


def reverse_digits(rng: random.Random, level: int) -> Problem:
    """Reverse a number of `level` digits (no trailing zero, so the answer has no leading one).

    Measured on SmolLM2-135M with 3-shot completion prompts: 80% at one digit (the identity),
    20% at two, about 0 from three on: the family with a steep pass-rate gradient for it."""
    number = str(_digits(rng, level))
    while level > 1 and number.endswith("0"):
        number = str(_digits(rng, level))
    steps = (
        f"The digits of {number}, left to right: {', '.join(number)}.",
        f"Right to left: {', '.join(reversed(number))}.",
        f"Written together: {number[::-1]}.",
    )
    return Problem(f"Write the digits of {number} in reverse order.", number[::-1], steps)


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
