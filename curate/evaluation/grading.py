"""From finished samples to `evals` rows, and from `evals` rows to `eval_summaries` figures.

Grading uses the project's one answer checker (quality.answers): the answer is extracted from
the text after the reasoning and compared with the item's reference by its answer type.
Majority voting groups wrong answers by the same checker (teachability's vote classes: "1/2"
and "0.5" vote together); every correct answer is one class, the reference's.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.evaluation import metrics
from quality.answers import check_batch, extract_answer
from store.tables import EVALS
from synth.backends import Completion

EVAL_SCHEMA = EVALS.schema(EVALS.row_columns)
_CORRECT_CLASS = 1 << 40  # the reference's class, above any id the vote classes give


def graded_rows(todo: pl.DataFrame, completions: list[Completion | None]) -> pl.DataFrame:
    """`evals` rows of the finished samples among `todo` (one completion per todo row)."""
    records: list[dict[str, Any]] = []  # values as Polars rows give them
    for row, done in zip(todo.iter_rows(named=True), completions, strict=True):
        if done is None or not done.ok:
            continue
        records.append(
            {
                **{k: row[k] for k in ("eval_id", "model", "model_name", "benchmark", "item_id")},
                **{k: row[k] for k in ("item_hash", "sample", "answer", "answer_type")},
                "response": done.text,
                "reasoning": done.reasoning,
                "extracted_answer": extract_answer(done.text, row["answer_type"]),
                "finish_reason": done.finish_reason,
                "prompt_tokens": done.prompt_tokens,
                "completion_tokens": done.completion_tokens,
                "latency_s": done.latency_s,
            }
        )
    if not records:
        return pl.DataFrame(schema=EVAL_SCHEMA)
    verdicts = _verdicts(records)
    frame = pl.DataFrame(records, infer_schema_length=None)
    frame = frame.with_columns(pl.Series("correct", verdicts, dtype=pl.Boolean))
    return frame.select([pl.col(c).cast(t) for c, t in EVAL_SCHEMA.items()])


def _verdicts(records: list[dict[str, Any]]) -> list[bool | None]:
    """Answers by the answer checker; code items (answer: their tests) by running the reply's
    program in the sandbox (a sandbox error: None, never wrong)."""
    from quality.programs import CODE, ProgramChecker, extracted_programs

    code = [i for i, r in enumerate(records) if r["answer_type"] == CODE]
    rest = [i for i, r in enumerate(records) if r["answer_type"] != CODE]
    verdicts: list[bool | None] = [None] * len(records)
    checked = check_batch(
        [records[i]["extracted_answer"] for i in rest],
        [records[i]["answer"] for i in rest],
        [records[i]["answer_type"] for i in rest],
    ) if rest else []  # fmt: skip
    for i, verdict in zip(rest, checked, strict=True):
        verdicts[i] = verdict
    if code:
        from quality.execute import Verdict

        replies = [records[i]["response"] for i in code]
        programs = extracted_programs(replies)
        with ProgramChecker() as checker:
            judged = checker.check(replies, [records[i]["answer"] for i in code])
        for i, program, judgement in zip(code, programs, judged, strict=True):
            records[i]["extracted_answer"] = program
            if judgement is None:
                verdicts[i] = False
            elif judgement.verdict != Verdict.sandbox_error:
                verdicts[i] = judgement.verdict == Verdict.accepted
    return verdicts


def answer_classes(rows: pl.DataFrame) -> pl.Series:
    """Vote class of each row (-1: no answer); equal within an item means equivalent."""
    from curate.teachability.vote import equivalence_classes

    given = pl.col("extracted_answer").is_not_null() & (
        pl.col("extracted_answer").str.strip_chars() != ""
    )
    keyed = rows.with_row_index("_row").with_columns(
        pl.concat_str("benchmark", "item_id", separator="\x00").alias("seed_id")
    )
    # wrong programs are not grouped: two failing programs are no shared answer
    wrong = keyed.filter(
        given & ~pl.col("correct") & (pl.col("answer_type") != "code").fill_null(True)
    )
    spellings = (
        wrong.select("seed_id", pl.col("extracted_answer").alias("answer"), "answer_type")
        .unique(["seed_id", "answer"])
        .sort("seed_id", "answer")
        .with_row_index("idx")
    )
    if spellings.height:
        spellings = spellings.with_columns(
            pl.Series("cls", equivalence_classes(spellings), dtype=pl.Int64)
        )
    else:
        spellings = spellings.with_columns(pl.lit(None, pl.Int64).alias("cls"))
    classed = keyed.join(
        spellings.select("seed_id", pl.col("answer").alias("extracted_answer"), "cls"),
        on=["seed_id", "extracted_answer"],
        how="left",
    ).sort("_row")
    cls = (
        pl.when(pl.col("correct"))
        .then(pl.lit(_CORRECT_CLASS, pl.Int64))
        .when(given & (pl.col("answer_type") == "code").fill_null(False))
        .then(pl.col("_row").cast(pl.Int64) + _CORRECT_CLASS + 1)  # each wrong program alone
        .when(given)
        .then(pl.col("cls"))
        .otherwise(pl.lit(-1, pl.Int64))
    )
    return classed.select(cls.alias("class"))["class"]


def summary_figures(rows: pl.DataFrame, samples: int) -> dict[str, object] | None:
    """The summary of one (model, benchmark) from its rows with sample < N; None unless every
    item has all N samples (a partial summary would not be avg@N)."""
    rows = rows.filter(pl.col("sample") < samples).sort("item_id", "sample")
    per_item = rows.group_by("item_id").len()
    if per_item.height == 0 or (per_item["len"] < samples).any():
        return None
    shape = (per_item.height, samples)
    correct = rows["correct"].fill_null(False).to_numpy().reshape(shape)
    classes = answer_classes(rows).to_numpy().reshape(shape)
    figures = metrics.summarize(correct, classes)
    figures["no_answer"] = series_mean(rows["extracted_answer"].is_null())
    figures["truncated"] = series_mean(rows["finish_reason"] == "length")
    figures["mean_completion_tokens"] = series_mean(rows["completion_tokens"])
    return figures


def series_mean(values: pl.Series) -> float:
    """The mean of a numeric or boolean series, 0.0 when it has no values (Polars types the
    result as any Python scalar)."""
    mean = values.mean()
    return float(mean) if isinstance(mean, int | float) else 0.0


def item_accuracy(rows: pl.DataFrame, samples: int) -> pl.DataFrame:
    """Per item: accuracy over its first N samples (the unit of a paired comparison)."""
    return (
        rows.filter(pl.col("sample") < samples)
        .group_by("benchmark", "item_id", "item_hash")
        .agg(pl.col("correct").fill_null(False).mean().alias("accuracy"), pl.len().alias("n"))
        .filter(pl.col("n") == samples)
        .drop("n")
    )
