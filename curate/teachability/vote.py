"""Majority vote over sampled answers under the answer checker's equivalence.

Answers of one seed are grouped into classes: two answers are in the same class when the
checker says they match ("1/2" and "0.5" vote together). The winning class needs strictly more
votes than any other (a tie for first is `tie`) and an agreement (its votes / all samples drawn,
unparseable ones included) of at least `min_agreement` (else `low_agreement`). Its answer is the
class's most frequent spelling, the earliest sampled one on a tie.
"""

from __future__ import annotations

import polars as pl

from quality.answers import check_batch

VOTE_SCHEMA = {
    "seed_id": pl.String,
    "method": pl.String,
    "answer": pl.String,
    "agreement": pl.Float64,
    "votes": pl.Int64,
    "samples": pl.Int64,
    "reason": pl.String,
}


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def equivalence_classes(spellings: pl.DataFrame) -> list[int]:
    """Class id per row of (seed_id, answer, answer_type, idx): union of checker matches."""
    left = spellings.select("seed_id", "idx", "answer", "answer_type")
    pairs = (
        left.join(left, on="seed_id", suffix="_b")
        .filter(pl.col("idx") < pl.col("idx_b"))
        .select("idx", "idx_b", "answer", "answer_b", "answer_type")
    )
    verdicts = (
        check_batch(
            pairs["answer"].to_list(), pairs["answer_b"].to_list(), pairs["answer_type"].to_list()
        )
        if pairs.height
        else []
    )
    parent = {i: i for i in spellings["idx"].to_list()}
    for (a, b), same in zip(pairs.select("idx", "idx_b").iter_rows(), verdicts, strict=True):
        if same:
            parent[_find(parent, b)] = _find(parent, a)
    return [_find(parent, i) for i in spellings["idx"].to_list()]


def majority_vote(samples: pl.DataFrame, min_agreement: float) -> pl.DataFrame:
    """`samples`: seed_id, sample, answer (extracted, may be null), answer_type (may be null).
    One row per seed with method majority or unverifiable."""
    if samples.height == 0:
        return pl.DataFrame(schema=VOTE_SCHEMA)
    drawn = samples.group_by("seed_id").agg(pl.len().alias("samples"))
    spellings = (
        samples.filter(pl.col("answer").is_not_null() & (pl.col("answer").str.strip_chars() != ""))
        .group_by("seed_id", "answer")
        .agg(
            pl.len().alias("count"),
            pl.col("sample").min().alias("first"),
            pl.col("answer_type").first(),
        )
        .sort("seed_id", "first")
        .with_row_index("idx")
    )
    spellings = spellings.with_columns(
        pl.Series("cls", equivalence_classes(spellings), dtype=pl.Int64)
    )
    classes = (
        spellings.sort("count", "first", descending=[True, False])
        .group_by("seed_id", "cls", maintain_order=True)
        .agg(pl.col("count").sum().alias("votes"), pl.col("answer").first())
        .sort("seed_id", "votes", descending=[False, True], maintain_order=True)
        .group_by("seed_id", maintain_order=True)
        .agg(
            pl.col("answer").first(),
            pl.col("votes").first(),
            pl.col("votes").get(1, null_on_oob=True).alias("runner_up"),
        )
    )
    out = drawn.join(classes, on="seed_id", how="left").with_columns(
        pl.col("votes").fill_null(0),
        (pl.col("votes").fill_null(0) / pl.col("samples")).alias("agreement"),
    )
    reason = (
        pl.when(pl.col("votes") == 0)
        .then(pl.lit("no_answer"))
        .when(pl.col("votes") == pl.col("runner_up"))
        .then(pl.lit("tie"))
        .when(pl.col("agreement") < min_agreement)
        .then(pl.lit("low_agreement"))
    )
    out = out.with_columns(reason.alias("reason")).with_columns(
        pl.when(pl.col("reason").is_null())
        .then(pl.lit("majority"))
        .otherwise(pl.lit("unverifiable"))
        .alias("method"),
        pl.when(pl.col("reason").is_null()).then(pl.col("answer")).alias("answer"),
    )
    return out.select([pl.col(c).cast(t) for c, t in VOTE_SCHEMA.items()]).sort("seed_id")
