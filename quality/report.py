"""`teachable report quality`: hits per benchmark, near-dup cluster sizes, filter verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from quality.decontam.kinds import KINDS
from store import Store
from store.tables import CONTAMINATION, NEAR_DUPS, VERDICTS


def contamination_summary(store: Store) -> pl.DataFrame:
    """Per benchmark: items flagged, by hit kind (copy, paraphrase, quote, sibling, or
    unclassified for hits found before kinds existed), and hit rows; kinds are the current ones
    (the latest decontam run per hit)."""
    if not store.has_table(CONTAMINATION.name):
        return pl.DataFrame()
    c = store.latest(CONTAMINATION).with_columns(pl.col("kind").fill_null("unclassified"))
    per_kind = [
        pl.col("item_id").filter(pl.col("kind") == kind).n_unique().alias(kind)
        for kind in (*KINDS, "unclassified")
    ]
    return (
        c.group_by("benchmark")
        .agg(
            pl.col("item_id").n_unique().alias("items_flagged"),
            *per_kind,
            pl.col("benchmark_item_id").n_unique().alias("benchmark_items_hit"),
            pl.len().alias("hits"),
        )
        .sort("items_flagged", descending=True)
    )


def cluster_sizes(store: Store) -> pl.DataFrame:
    """(item_table, cluster_id, size) from the latest dedup run of each table."""
    if not store.has_table(NEAR_DUPS):
        return pl.DataFrame(
            schema={"item_table": pl.String, "cluster_id": pl.String, "size": pl.UInt32}
        )
    nd = store.table(NEAR_DUPS)
    runs = store.runs().select("run_id", "started_at")
    latest = (
        nd.select("item_table", "run_id")
        .unique()
        .join(runs, on="run_id", how="left")
        .sort("started_at")
        .group_by("item_table")
        .last()
        .select("item_table", "run_id")
    )
    return (
        nd.join(latest, on=["item_table", "run_id"])
        .group_by("item_table", "cluster_id")
        .agg(pl.len().alias("size"))
        .sort("size", descending=True)
    )


def verdict_summary(store: Store) -> pl.DataFrame:
    if not store.has_table(VERDICTS):
        return pl.DataFrame()
    return (
        store.table(VERDICTS)
        .group_by("filter")
        .agg(pl.len().alias("judged"), (~pl.col("passed")).sum().alias("failed"))
        .sort("filter")
    )


def cluster_histogram(sizes: pl.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    values: np.ndarray | list[int] = sizes["size"].to_numpy() if sizes.height else []
    top = int(max(values, default=2))
    ax.hist(values, bins=range(2, top + 2), align="left", rwidth=0.8)
    ax.set_xlabel("cluster size (items)")
    ax.set_ylabel("clusters")
    ax.set_yscale("log" if sizes.height and top > 10 else "linear")
    ax.set_title(f"near-duplicate clusters: {sizes.height}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
