"""Split a raw answer field into (clean answer, raw solution, answer type), vectorized.

Polars handles the common shapes (`#### N` tails, plain answers, type inference); only rows
that need real parsing (nested `\\boxed{}`, thousands commas) go through the Python extractors.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from quality.answers import gsm8k_answer, last_boxed
from quality.answers.normalize import infer_from_form, math_form

_HASHES = r"(?s).*####[ \t]*([^\n]*)"


def _python_fix(
    values: pl.Series, mask: pl.Series, extract: Callable[[str], str | None]
) -> pl.Series:
    """`extract` (a Python function) applied to the rows where mask is true; null elsewhere."""
    rows = mask.arg_true()
    fixed = [extract(v) for v in values.gather(rows).to_list()]
    out = pl.repeat(None, len(values), dtype=pl.String, eager=True)
    return out.scatter(rows, pl.Series(fixed, dtype=pl.String)) if len(rows) else out


def split_answers(raw: pl.Series) -> pl.DataFrame:
    """Columns answer, solution, answer_type. A `#### N` (GSM8K) or last `\\boxed{}` answer is
    extracted and the raw text kept as the solution; anything else is taken as the answer."""
    frame = pl.DataFrame({"raw": raw.cast(pl.String)})
    has_hashes = frame["raw"].str.contains("####", literal=True).fill_null(False)
    has_box = frame["raw"].str.contains(r"\\boxed|\\fbox").fill_null(False) & ~has_hashes
    tail = frame["raw"].str.extract(_HASHES, 1).str.strip_chars()
    needs_python = has_hashes & tail.str.contains(",", literal=True).fill_null(False)
    hashes = pl.when(needs_python).then(_python_fix(frame["raw"], needs_python, gsm8k_answer))
    frame = frame.with_columns(
        has_hashes.alias("_h"),
        has_box.alias("_b"),
        hashes.otherwise(tail).alias("_tail"),
        _python_fix(frame["raw"], has_box, last_boxed).alias("_box"),
    )
    answer = (
        pl.when(pl.col("_h"))
        .then(pl.col("_tail"))
        .when(pl.col("_b"))
        .then(pl.col("_box"))
        .otherwise(pl.col("raw").str.strip_chars())
    )
    frame = frame.with_columns(
        pl.when(answer.str.len_chars() > 0).then(answer).alias("answer"),
        pl.when(pl.col("_h") | pl.col("_b")).then(pl.col("raw")).alias("solution"),
    )
    return frame.select("answer", "solution", _answer_types(frame["answer"]))


def _answer_types(answers: pl.Series) -> pl.Series:
    """Most answers are integers; only the rest pay for the LaTeX normalization rules (a
    when/then would evaluate them on every row)."""
    is_int = answers.str.contains(r"^-?\d+$").fill_null(False)
    needs_rules = ~is_int & answers.is_not_null()
    rest = answers.filter(needs_rules)
    form = math_form(pl.col("answer"))
    inferred = (
        pl.DataFrame({"answer": rest})
        .select(infer_from_form(form, form.str.replace_all(r"\s+", "")))
        .to_series()
    )
    result = pl.repeat(None, len(answers), dtype=pl.String, eager=True).alias("answer_type")
    result = result.scatter(is_int.arg_true(), "number")
    return result.scatter(needs_rules.arg_true(), inferred)
