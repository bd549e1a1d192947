"""Every shipped benchmark answer must survive the checker re-formatted, and not match others."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from quality.answers import check_batch, extract_answer, gsm8k_answer, infer_answer_type, last_boxed

BENCHMARKS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "benchmarks"
NAMES = ("aime24", "aime25", "math500", "gsm8k_test", "gpqa_diamond")


def _answers(name: str) -> list[str]:
    path = BENCHMARKS / f"{name}.jsonl"
    if not path.is_file():
        pytest.fail(f"benchmark file missing: {path} (shared/ must sit beside the repo)")
    with path.open() as f:
        return [json.loads(line)["answer"] for line in f if line.strip()]


# Model-style outputs the answer is extracted from.
IN_TEXT: dict[str, Callable[[str], str]] = {
    "boxed_in_sentence": lambda a: (
        f"Adding 3 and 4 gives 7, so the result is $\\boxed{{{a}}}$. Done"
    ),
    "answer_is": lambda a: f"We try 12 first.\nThe answer is ${a}$.",
    "think_then_final": lambda a: f"<think>maybe 17, or 12?</think>\nFinal answer: {a}",
    "gsm8k_hashes": lambda a: f"5 + 6 = 11 apples\n#### {a}",
    "fbox": lambda a: f"\\fbox{{{a}}}",
}
# Already-extracted answers, written differently.
DIRECT: dict[str, Callable[[str], str]] = {
    "dollars_and_spaces": lambda a: f"$  {a}  $",
    "displaystyle": lambda a: f"\\displaystyle {a}",
    "left_right": lambda a: a.replace("(", "\\left(").replace(")", "\\right)"),
    "boxed": lambda a: f"\\boxed{{{a}}}",
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("style", sorted(IN_TEXT))
def test_answer_extracted_from_text_matches_itself(name: str, style: str) -> None:
    answers = _answers(name)
    kinds = [infer_answer_type(a) for a in answers]
    texts = [IN_TEXT[style](a) for a in answers]
    extracted = [extract_answer(t, k) for t, k in zip(texts, kinds, strict=True)]
    verdicts = check_batch(extracted, answers, kinds)
    failed = [(a, e) for a, e, ok in zip(answers, extracted, verdicts, strict=True) if not ok]
    assert failed == []


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("style", sorted(DIRECT))
def test_reformatted_answer_matches_itself(name: str, style: str) -> None:
    answers = _answers(name)
    verdicts = check_batch([DIRECT[style](a) for a in answers], answers)
    assert [a for a, ok in zip(answers, verdicts, strict=True) if not ok] == []


def test_integer_answers_match_with_thousands_commas() -> None:
    answers = [a for a in _answers("gsm8k_test") if a.lstrip("-").isdigit()]
    written = [f"The answer is {int(a):,} dollars." for a in answers]
    verdicts = check_batch([extract_answer(w) for w in written], answers)
    assert [a for a, ok in zip(answers, verdicts, strict=True) if not ok] == []


@pytest.mark.parametrize("name", NAMES)
def test_different_answers_do_not_match(name: str) -> None:
    rng = random.Random(f"mismatch-{name}")
    distinct = sorted(set(_answers(name)))
    pairs = [tuple(rng.sample(distinct, 2)) for _ in range(120)]
    extracted = [extract_answer(f"So we get \\boxed{{{a}}}.") for a, _ in pairs]
    verdicts = check_batch(extracted, [b for _, b in pairs])
    assert [p for p, ok in zip(pairs, verdicts, strict=True) if ok] == []


def test_answers_from_other_benchmarks_do_not_match() -> None:
    rng = random.Random("cross")
    pools = {name: sorted(set(_answers(name))) for name in NAMES}
    pairs = []
    for _ in range(200):
        a_name, b_name = rng.sample(NAMES, 2)
        a, b = rng.choice(pools[a_name]), rng.choice(pools[b_name])
        if a != b:
            pairs.append((a, b))
    verdicts = check_batch([a for a, _ in pairs], [b for _, b in pairs])
    assert [p for p, ok in zip(pairs, verdicts, strict=True) if ok] == []


def _rows(relative: str) -> list[dict]:
    path = BENCHMARKS.parent / relative
    if not path.is_file():
        pytest.fail(f"data file missing: {path}")
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def test_last_boxed_of_math_solutions_gives_the_math500_answer() -> None:
    math500 = {row["problem"]: row["answer"] for row in _rows("benchmarks/math500.jsonl")}
    solutions = _rows("seeds/math_test.jsonl")
    boxed = [last_boxed(row["solution"]) for row in solutions]
    assert all(b is not None for b in boxed)
    pairs = [
        (b, math500[r["problem"]])
        for b, r in zip(boxed, solutions, strict=True)
        if r["problem"] in math500
    ]
    assert len(pairs) == 500
    verdicts = check_batch([b for b, _ in pairs], [a for _, a in pairs])
    assert [p for p, ok in zip(pairs, verdicts, strict=True) if not ok] == []


def test_gsm8k_answer_of_every_training_solution_is_a_plain_number() -> None:
    answers = [gsm8k_answer(row["answer"]) for row in _rows("seeds/gsm8k_train.jsonl")]
    assert len(answers) == 7473
    assert [a for a in answers if a is None or not re.fullmatch(r"-?\d+(\.\d+)?", a)] == []


def test_polars_and_python_fast_paths_agree() -> None:
    # The batch path (Polars) and the single-check path (Python re) share one rule table; run
    # both on every benchmark and MATH answer, restyled and mismatched, and compare verdicts.
    import polars as pl

    from quality.answers.check import _fast_polars, _fast_scalar
    from quality.answers.normalize import infer_from_form, math_form

    answers = [a for name in NAMES for a in _answers(name)]
    answers += [last_boxed(r["solution"]) or "" for r in _rows("seeds/math_test.jsonl")]
    rng = random.Random("engines")
    preds, refs = [], []
    for a in answers:
        for style in (*DIRECT.values(), lambda x: x, lambda x: rng.choice(answers)):
            preds.append(style(a))
            refs.append(a)
    kinds: list[str | None] = [None] * len(refs)
    assert _fast_polars(preds, refs, kinds) == _fast_scalar(preds, refs, kinds)

    forms = pl.select(math_form(pl.lit(pl.Series(answers))).alias("f")).to_series()
    batch_types = pl.select(
        infer_from_form(pl.lit(forms), pl.lit(forms).str.replace_all(r"\s+", ""))
    ).to_series()
    assert batch_types.to_list() == [infer_answer_type(a) for a in answers]
