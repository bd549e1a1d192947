"""Human review in an export: the corrected answers a mixture's prompts carry, and their
provenance for the dataset card.

The corrections are those in force at the mixture's snapshot, resolved with the recipe's
`review_rule` — the same snapshot and rule that decided the mixture's review exclusions.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.mixtures.recipe import parse_recipe
from quality.review.corrections import corrections
from quality.review.recheck import recheck
from quality.review.resolve import ReviewRule
from store import Store
from store.tables import PROMPT_TABLES


def rescore(store: Store, at: int, rule: ReviewRule, candidates: pl.DataFrame) -> pl.DataFrame:
    """`candidates` with `correct` re-derived against answers corrected in review (the traces
    on corrected prompts; quality.review.recheck), so `verified_only` judges a trace by the
    answer the export will carry."""
    rescored = recheck(store, at, rule).traces.select("trace_id", "correct_after")
    if rescored.height == 0:
        return candidates
    joined = candidates.join(rescored, on="trace_id", how="left", maintain_order="left")
    return joined.with_columns(correct=pl.coalesce("correct_after", "correct")).drop(
        "correct_after"
    )


def mixture_fixes(store: Store, record: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, Any]]:
    """(corrections for the build's prompts, their provenance for ExportMeta.review)."""
    at = int(record["snapshot_id"])
    rule = parse_recipe(record["recipe"], f"mixture {record['name']}").review_rule
    fixes = corrections(store, at, rule)
    if fixes.height == 0:
        return fixes, {"rule": rule, "corrected": []}
    prompts = store.sql(
        "SELECT DISTINCT item_table AS prompt_table, item_id AS prompt_id FROM mixture_items "
        "WHERE run_id = ?",
        [record["run_id"]],
    )
    fixes = fixes.join(prompts, on=["prompt_table", "prompt_id"], how="semi")
    was = _answers(store, at, fixes)
    listed = fixes.join(was, on=["prompt_table", "prompt_id"], how="left").with_columns(
        pl.col("decided_at").dt.strftime("%Y-%m-%d %H:%M:%S")
    )
    return fixes, {"rule": rule, "corrected": listed.to_dicts()}


def _answers(store: Store, at: int, fixes: pl.DataFrame) -> pl.DataFrame:
    frames = []
    for spec in PROMPT_TABLES.values():
        key = spec.id_column
        ids = fixes.filter(pl.col("prompt_table") == spec.name)["prompt_id"].to_list()
        if ids and store.has_table(spec, at):
            frames.append(
                store.sql(
                    f"SELECT ? AS prompt_table, {key} AS prompt_id, answer AS answer_was "
                    f"FROM {store.ref(spec, at)} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))",
                    [spec.name, ids],
                )
            )
    schema = {"prompt_table": pl.String, "prompt_id": pl.String, "answer_was": pl.String}
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=schema)
