"""One verdict per reviewed item from its annotations: the rule mixtures, exports and reports use.

First the current annotations: the latest version of each annotation (an edit in Label Studio
is pulled as a new row), then each annotator's latest word on the item (an annotator counts once
per item, whatever the number of tasks or projects it appeared in). Then a rule:

- `majority` (default): the verdict most annotators gave; a tie for the most votes is `reject`
  (an item the reviewers disagree on stays out of the data until someone adjudicates).
- `any_reject`: one `reject` excludes; else `fix` when anyone fixed; else `accept`.
- `latest`: the most recent annotation decides (an adjudicator's word overrides).

A resolved `fix` carries the corrected answer most of its fix votes gave (answers compared as
stripped text); fixers who disagree with no majority resolve to `reject`, because no answer is
safe to train on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, get_args

import polars as pl

from store import Store
from store.errors import InputError
from store.tables import REVIEWS

ReviewRule = Literal["majority", "any_reject", "latest"]
RULES: tuple[str, ...] = get_args(ReviewRule)
RESOLVED_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "item_table": pl.String(),
    "verdict": pl.String(),
    "corrected_answer": pl.String(),
    "accept": pl.UInt32(),
    "reject": pl.UInt32(),
    "fix": pl.UInt32(),
    "annotators": pl.List(pl.String),
    "projects": pl.List(pl.String),
    "decided_at": pl.Datetime("us"),
}


def read_reviews(store: Store, at: int | str | None = None) -> pl.DataFrame:
    """Every `reviews` row at `at` with the spec's columns (NULL for columns an older or
    hand-made table lacks; no rows when there is no table)."""
    return store.read(REVIEWS, at=at)


def current(reviews: pl.DataFrame) -> pl.DataFrame:
    """Each annotator's latest annotation per item (rows without an annotator or annotation id,
    such as hand-made ones, each count on their own)."""
    rows = reviews.with_row_index("_row").with_columns(
        _ann=pl.coalesce(
            pl.format("{}/{}", "project_id", "annotation_id"), pl.col("_row").cast(pl.String)
        ),
        _who=pl.coalesce("annotator", pl.format("row:{}", "_row")),
    )
    order = ["updated_at", "_row"]
    rows = rows.sort(order, nulls_last=False).unique("_ann", keep="last")
    return rows.sort(order, nulls_last=False).unique(["item_id", "_who"], keep="last").sort("_row")


def _answer(votes: list[tuple[str, str | None]]) -> str | None:
    """The corrected answer most `fix` votes agree on; None when they split evenly."""
    answers = Counter((a or "").strip() for v, a in votes if v == "fix")
    ranked = answers.most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]) or not ranked[0][0]:
        return None
    return ranked[0][0]


def decide(votes: list[tuple[str, str | None]], rule: ReviewRule) -> tuple[str, str | None]:
    """(verdict, corrected answer) from (verdict, corrected answer) votes, oldest first."""
    if rule == "latest":
        verdict, answer = votes[-1]
        return (verdict, (answer or "").strip() or None) if verdict == "fix" else (verdict, None)
    counts = Counter(v for v, _ in votes)
    if rule == "any_reject":
        verdict = "reject" if counts["reject"] else "fix" if counts["fix"] else "accept"
    elif rule == "majority":
        top = max(counts.values())
        leaders = [v for v, n in counts.items() if n == top]
        verdict = leaders[0] if len(leaders) == 1 else "reject"
    else:
        raise InputError(f"unknown review rule '{rule}' (known: {', '.join(RULES)})")
    if verdict != "fix":
        return verdict, None
    answer = _answer(votes)
    return ("fix", answer) if answer is not None else ("reject", None)


def resolve_reviews(reviews: pl.DataFrame, rule: ReviewRule = "majority") -> pl.DataFrame:
    """One row per reviewed item: its resolved verdict and answer, the vote counts, who voted
    and when the last vote came (RESOLVED_SCHEMA)."""
    if rule not in RULES:
        raise InputError(f"unknown review rule '{rule}' (known: {', '.join(RULES)})")
    rows = current(reviews.filter(pl.col("verdict").is_in(["accept", "reject", "fix"])))
    if rows.height == 0:
        return pl.DataFrame(schema=RESOLVED_SCHEMA)
    grouped = (
        rows.sort("updated_at", "_row", nulls_last=False)
        .group_by("item_id", maintain_order=True)
        .agg(
            pl.col("item_table").drop_nulls().first(),
            pl.col("verdict"),
            pl.col("corrected_answer"),
            pl.col("_who").alias("annotators"),
            pl.col("project").drop_nulls().unique().sort().alias("projects"),
            pl.col("updated_at").max().alias("decided_at"),
        )
    )
    out: list[dict[str, Any]] = []
    for g in grouped.iter_rows(named=True):
        votes = list(zip(g["verdict"], g["corrected_answer"], strict=True))
        verdict, answer = decide(votes, rule)
        counts = Counter(g["verdict"])
        out.append(
            {
                "item_id": g["item_id"],
                "item_table": g["item_table"],
                "verdict": verdict,
                "corrected_answer": answer,
                **{v: counts[v] for v in ("accept", "reject", "fix")},
                "annotators": sorted(g["annotators"]),
                "projects": g["projects"],
                "decided_at": g["decided_at"],
            }
        )
    return pl.DataFrame(out, schema=RESOLVED_SCHEMA)


def resolved(
    store: Store, at: int | str | None = None, rule: ReviewRule = "majority"
) -> pl.DataFrame:
    """The resolved verdict of every reviewed item at snapshot `at`."""
    return resolve_reviews(read_reviews(store, at), rule)
