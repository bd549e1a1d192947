"""Split a raw answer field into (clean answer, raw solution, answer type)."""

from __future__ import annotations

import polars as pl

from quality.answers import gsm8k_answer, infer_answer_type, last_boxed


def _split(raw: str | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    if "####" in raw:
        return gsm8k_answer(raw), raw
    if "\\boxed" in raw or "\\fbox" in raw:
        return last_boxed(raw), raw
    return raw.strip() or None, None


def split_answers(raw: pl.Series) -> pl.DataFrame:
    """Columns answer, solution, answer_type. A `#### N` (GSM8K) or last `\\boxed{}` answer is
    extracted and the raw text kept as the solution; anything else is taken as the answer."""
    pairs = [_split(value) for value in raw.to_list()]
    answers = [a for a, _ in pairs]
    return pl.DataFrame(
        {
            "answer": answers,
            "solution": [s for _, s in pairs],
            "answer_type": [None if a is None else infer_answer_type(a) for a in answers],
        },
        schema={"answer": pl.String, "solution": pl.String, "answer_type": pl.String},
    )
