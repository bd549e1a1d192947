"""Chance rate of a problem: how often a uniform guess among the answers it offers is right.

A weak model that cannot solve a two-option question still passes half its samples, so a pass
rate means nothing until it is set against this rate (the difficulty stage does that). The rate
comes from the answer type and what the problem text offers, first rule that applies:

- a choice answer: 1/k for the k option labels listed in the problem (A) ... D)), or 1/4
  (the GPQA shape) when the labels cannot be read from the text;
- yes/no and true/false answers: 1/2;
- alternatives listed before the question mark that include the answer ("Which is larger,
  512 or 498?", "heads or tails?"): 1/k for k alternatives of the answer's kind;
- a remainder modulo m <= 10 ("the remainder when ... is divided by 7"): 1/m; a units digit:
  1/10 (small integer ranges that competition problems state);
- anything else: 0 (an open answer is not guessed by chance).

    chance_rate("Which number is larger, 512 or 498? Answer with the number.", "512", "number")
    # 0.5
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from quality.answers.normalize import infer_answer_type

DEFAULT_CHOICES = 4  # options assumed when a choice problem does not list its labels
MAX_RANGE = 10  # a stated integer range counts as guessable up to this many values
_LABEL = re.compile(r"(?:^|(?<=\s))\(?([A-J])[).:](?=\s)")
_YES_NO = {"yes", "no", "true", "false"}
# "x, y, or z?" / "x or y?": the listed alternatives directly before a question mark
_ALTERNATIVES = re.compile(r"((?:[^\s,?]+,\s+)*[^\s,?]+,?\s+or\s+[^\s,?]+)\s*\?")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_REMAINDER = re.compile(r"remainder\b.*?\b(?:divided by|modulo|mod)\s+(\d+)", re.I)
_UNITS_DIGIT = re.compile(r"\b(?:units|ones|last) digit\b", re.I)


def _option_count(problem: str) -> int:
    """Length of the run A, B, C, ... of option labels in the text (0 when A is missing)."""
    letters = set(_LABEL.findall(problem))
    count = 0
    while chr(ord("A") + count) in letters:
        count += 1
    return count


def _token(text: str) -> str:
    return text.strip().strip(".,;:!\"'()*").casefold()


def _alternatives(problem: str, answer: str) -> int:
    """Number of alternatives of the answer's kind in a listed `x or y?` that holds the answer."""
    wanted = _token(answer)
    numeric = bool(_NUMBER.match(wanted))
    for listed in _ALTERNATIVES.findall(problem):
        options = [_token(t) for t in re.split(r",\s*(?:or\s+)?|\s+or\s+", listed)]
        same_kind = [t for t in options if t and bool(_NUMBER.match(t)) == numeric]
        if wanted in same_kind and len(set(same_kind)) >= 2:
            return len(set(same_kind))
    return 0


def chance_rate(problem: str, answer: str | None, answer_type: str | None = None) -> float:
    """Probability that a uniform guess among the answers `problem` offers equals `answer`."""
    if answer is None or not str(answer).strip():
        return 0.0
    answer = str(answer)
    kind = answer_type or infer_answer_type(answer)
    if kind == "choice":
        options = _option_count(problem)
        return 1.0 / (options if options >= 2 else DEFAULT_CHOICES)
    if _token(answer) in _YES_NO:
        return 0.5
    offered = _alternatives(problem, answer)
    if offered:
        return 1.0 / offered
    if _NUMBER.match(_token(answer)):
        modulus = _REMAINDER.search(problem)
        if modulus and 2 <= int(modulus[1]) <= MAX_RANGE:
            return 1.0 / int(modulus[1])
        if _UNITS_DIGIT.search(problem) and len(_token(answer).lstrip("-")) == 1:
            return 1.0 / 10
    return 0.0


def chance_rates(
    problems: Sequence[str], answers: Sequence[str | None], types: Sequence[str | None]
) -> list[float]:
    """chance_rate over parallel columns (a Python loop: a few microseconds a problem, and the
    difficulty stage pays a model call per problem anyway)."""
    return [chance_rate(p, a, t) for p, a, t in zip(problems, answers, types, strict=True)]
