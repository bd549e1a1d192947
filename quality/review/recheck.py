"""Correctness re-derived against answers corrected in review, with zero model calls.

Every weak-model attempt and every teacher trace keeps its extracted answer in the store, so
when review corrects a prompt's answer the checker (quality.answers.check_batch) simply
re-runs on those stored answers: traces get `correct_after`, and each (seed, weak model) its
pass rate before and after. Attempts were scored against the seed's proxy answer, so only
corrections of seeds re-score attempts; corrections of rewritten questions re-score the traces
on those questions. Banding the new pass rates is the difficulty stage's rule
(curate.teachability); `teachable review recheck` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from quality.answers import check_batch
from quality.review.corrections import corrections
from quality.review.items import in_ids
from quality.review.resolve import ReviewRule
from store import Store
from store.tables import ATTEMPTS, PROMPT_TABLES, SEEDS, TRACES

TRACE_COLUMNS = ["trace_id", "item_table", "item_id", "extracted_answer", "correct"]
ATTEMPT_COLUMNS = ["seed_id", "model", "model_name", "extracted_answer", "correct"]


@dataclass
class Recheck:
    traces: (
        pl.DataFrame
    )  # trace_id, prompt_table, prompt_id, extracted_answer, correct, correct_after
    pass_rates: pl.DataFrame  # seed_id, model, model_name, samples, pass_rate, pass_rate_after


def _answer_types(store: Store, at: int, fixes: pl.DataFrame) -> pl.DataFrame:
    """The corrected prompts' answer types (the checker compares by type)."""
    frames = []
    for spec in PROMPT_TABLES.values():
        key = spec.id_column
        assert key is not None
        ids = fixes.filter(pl.col("prompt_table") == spec.name)["prompt_id"].to_list()
        rows = store.read(spec, [key, "answer_type"], at=at, where=in_ids(key), params=[ids])
        frames.append(rows.select(pl.lit(spec.name).alias("prompt_table"),
                                  pl.col(key).alias("prompt_id"), "answer_type"))  # fmt: skip
    return pl.concat(frames)


def _check(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` (extracted_answer, corrected_answer, answer_type) with `correct_after`."""
    if rows.height == 0:
        return rows.with_columns(correct_after=pl.lit(None, pl.Boolean))
    verdicts = check_batch(
        rows["extracted_answer"].to_list(),
        rows["corrected_answer"].to_list(),
        rows["answer_type"].to_list(),
    )
    return rows.with_columns(correct_after=pl.Series(verdicts, dtype=pl.Boolean))


def recheck(store: Store, at: int | str | None = None, rule: ReviewRule = "majority") -> Recheck:
    at = store.snapshot_id(at)
    fixes = corrections(store, at, rule)
    fixes = fixes.join(
        _answer_types(store, at, fixes), on=["prompt_table", "prompt_id"], how="left"
    )
    fixes = fixes.select("prompt_table", "prompt_id", "corrected_answer", "answer_type")
    prompts = [fixes["prompt_id"].to_list()]
    traces = store.read(TRACES, TRACE_COLUMNS, at=at, where=in_ids("item_id"), params=prompts)
    traces = traces.rename({"item_table": "prompt_table", "item_id": "prompt_id"})
    traces = _check(traces.join(fixes, on=["prompt_table", "prompt_id"]))
    seeds = fixes.filter(pl.col("prompt_table") == SEEDS.name).rename({"prompt_id": "seed_id"})
    seed_ids = [seeds["seed_id"].to_list()]
    attempts = store.read(
        ATTEMPTS, ATTEMPT_COLUMNS, at=at, where=in_ids("seed_id"), params=seed_ids
    )
    attempts = _check(attempts.join(seeds.drop("prompt_table"), on="seed_id"))
    rates = attempts.group_by("seed_id", "model", "model_name").agg(
        pl.len().alias("samples"),
        pl.col("correct").fill_null(False).mean().alias("pass_rate"),
        pl.col("correct_after").mean().alias("pass_rate_after"),
    )
    return Recheck(traces=traces.sort("trace_id"), pass_rates=rates.sort("seed_id", "model"))
