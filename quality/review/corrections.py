"""Corrected answers from review, keyed by the prompt whose answer they replace.

A resolved `fix` corrects the reference answer of a prompt: the reviewed seed or question
itself, or, for a reviewed trace, the prompt that trace answers (a teacher's trace has no answer
of its own to correct; its checker verdict was measured against the prompt's answer). When
several reviewed items correct the same prompt, the most recently decided one wins.
"""

from __future__ import annotations

import polars as pl

from quality.review.items import links
from quality.review.resolve import ReviewRule, resolved
from store import Store
from store.tables import SEEDS

SCHEMA: dict[str, pl.DataType] = {
    "prompt_table": pl.String(),
    "prompt_id": pl.String(),
    "corrected_answer": pl.String(),
    "reviewed_table": pl.String(),
    "reviewed_id": pl.String(),
    "annotators": pl.List(pl.String),
    "projects": pl.List(pl.String),
    "decided_at": pl.Datetime("us"),
}


def corrections(store: Store, at: int, rule: ReviewRule = "majority") -> pl.DataFrame:
    """One corrected answer per prompt (prompt_table seeds | questions) at snapshot `at`."""
    fixes = resolved(store, at, rule).filter(pl.col("verdict") == "fix")
    if fixes.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    items = fixes.select(pl.col("item_table").fill_null(SEEDS.name), "item_id")
    linked = links(store, at, items).select("item_id", "prompt_table", "prompt_id")
    joined = fixes.join(linked, on="item_id", how="left").filter(pl.col("prompt_id").is_not_null())
    latest = joined.sort("decided_at", nulls_last=False).unique(
        ["prompt_table", "prompt_id"], keep="last"
    )
    return latest.select(
        "prompt_table",
        "prompt_id",
        "corrected_answer",
        pl.col("item_table").alias("reviewed_table"),
        pl.col("item_id").alias("reviewed_id"),
        "annotators",
        "projects",
        "decided_at",
    ).sort("prompt_table", "prompt_id")


def apply(rows: pl.DataFrame, fixes: pl.DataFrame, table: str, prompt_id: str) -> pl.DataFrame:
    """`rows` with `answer` replaced where (`table` column, `prompt_id` column) has a fix, and
    a boolean `answer_corrected`."""
    keyed = fixes.select(
        pl.col("prompt_table").alias(table),
        pl.col("prompt_id").alias(prompt_id),
        pl.col("corrected_answer").alias("_fixed"),
    )
    out = rows.join(keyed, on=[table, prompt_id], how="left", maintain_order="left")
    return out.with_columns(
        answer=pl.coalesce("_fixed", "answer"), answer_corrected=pl.col("_fixed").is_not_null()
    ).drop("_fixed")
