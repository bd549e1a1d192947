"""`teachable report difficulty`: pass-rate histograms per weak model and per source, band
counts, and the calls adaptive sampling spent against the fixed-K cost.

Usage:
    table, png = difficulty_report(store, Path("difficulty.png"))
    teachable report difficulty --out difficulty.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from curate.teachability.select import latest_difficulty
from store import Store
from store.tables import BANDS, SEEDS

MAX_SOURCES = 8  # histogram lines beyond this are unreadable


def difficulty_table(store: Store, at: int | str | None = None) -> pl.DataFrame:
    """Per weak model and source: seeds, mean pass rate, band counts, calls vs fixed-K."""
    rows = latest_difficulty(store, at).join(
        store.sql(f"SELECT seed_id, source FROM {store.ref(SEEDS, at=at)}"),
        on="seed_id",
        how="left",
    )
    return (
        rows.group_by("model_name", "source")
        .agg(
            pl.len().alias("seeds"),
            pl.col("pass_rate").mean().round(3).alias("mean_pass_rate"),
            *[(pl.col("band") == b).sum().alias(b) for b in BANDS],
            pl.col("samples").sum().alias("calls"),
            pl.col("max_samples").sum().alias("fixed_k_calls"),
            pl.col("decided_early").sum().alias("decided_early"),
        )
        .with_columns((pl.col("calls") / pl.col("fixed_k_calls")).round(3).alias("call_ratio"))
        .sort("model_name", "source")
    )


def difficulty_report(
    store: Store, out: Path, at: int | str | None = None
) -> tuple[pl.DataFrame, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = latest_difficulty(store, at).join(
        store.sql(f"SELECT seed_id, source FROM {store.ref(SEEDS, at=at)}"),
        on="seed_id",
        how="left",
    )
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    bins = np.linspace(0, 1, 11)
    for (model,), part in rows.group_by(["model_name"], maintain_order=True):
        axes[0].hist(part["pass_rate"].to_numpy(), bins=bins, histtype="step", lw=2, label=model)
    axes[0].set(title="pass rate per weak model", xlabel="pass rate", ylabel="seeds")
    top = rows.group_by("source").len().sort("len", descending=True).head(MAX_SOURCES)
    for source in top["source"]:
        part = rows.filter(pl.col("source") == source)
        axes[1].hist(part["pass_rate"].to_numpy(), bins=bins, histtype="step", lw=2, label=source)
    axes[1].set(title="pass rate per source", xlabel="pass rate", ylabel="seed x model")
    counts = rows.group_by("model_name", "band").len()
    models = sorted(rows["model_name"].unique().to_list())
    width = 0.8 / max(1, len(models))
    for k, model in enumerate(models):
        mine = dict(counts.filter(pl.col("model_name") == model).select("band", "len").iter_rows())
        axes[2].bar(
            np.arange(len(BANDS)) + k * width, [mine.get(b, 0) for b in BANDS], width, label=model
        )
    axes[2].set_xticks(np.arange(len(BANDS)) + 0.4 - width / 2, BANDS)
    axes[2].set(title="band counts", ylabel="seeds")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return difficulty_table(store, at), out
