"""`review report`: per-annotator counts, agreement (Cohen's per pair, Fleiss' overall) and the
resolved verdicts by difficulty band and source, as tables and one PNG.

    report = review_report(store, project="audit")
    report.annotators, report.pairs, report.fleiss, report.by_band
    plot_report(report, Path("reports/review.png"))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from quality.review.annotations import choices
from quality.review.items import in_ids, links, seed_bands
from quality.review.kappa import overall, pairwise
from quality.review.resolve import ReviewRule, current, read_reviews, resolve_reviews
from store import Store
from store.tables import SEEDS


@dataclass
class ReviewReport:
    annotators: pl.DataFrame  # annotator, reviews, accept, reject, fix, mean_rating
    pairs: pl.DataFrame  # Cohen's kappa per annotator pair
    fleiss: float  # NaN with fewer than two annotators on any item
    items_multi: int  # items judged by two or more annotators
    by_band: pl.DataFrame  # band, source, verdict, items (resolved verdicts)
    rule: str


def _counts(rows: pl.DataFrame) -> pl.DataFrame:
    return (
        rows.group_by("annotator")
        .agg(
            pl.len().alias("reviews"),
            *[(pl.col("verdict") == v).sum().alias(v) for v in choices("verdict")],
            pl.col("rating").mean().round(2).alias("mean_rating"),
        )
        .sort("annotator")
    )


def verdicts_by_band(store: Store, at: int | None, resolved: pl.DataFrame) -> pl.DataFrame:
    """Resolved verdicts counted by the item's seed band (first weak model) and source."""
    schema = {"band": pl.String, "source": pl.String, "verdict": pl.String, "items": pl.UInt32}
    if resolved.height == 0:
        return pl.DataFrame(schema=schema)
    at = store.snapshot_id(at)
    items = links(store, at, resolved.select(pl.col("item_table").fill_null(SEEDS.name), "item_id"))
    seeds = items["seed_id"].drop_nulls().unique().to_list()
    bands = seed_bands(store, at, seeds).sort("model_name").unique("seed_id", keep="first")
    sources = store.read(
        SEEDS, ["seed_id", "source"], at=at, where=in_ids("seed_id"), params=[seeds]
    )
    joined = (
        items.join(resolved.select("item_id", "verdict"), on="item_id")
        .join(bands.select("seed_id", "band"), on="seed_id", how="left")
        .join(sources, on="seed_id", how="left")
        .with_columns(pl.col("band").fill_null("unmeasured"), pl.col("source").fill_null("?"))
    )
    return joined.group_by("band", "source", "verdict").agg(pl.len().alias("items")).sort(pl.all())


def review_report(
    store: Store, project: str | None = None, at: int | None = None, rule: ReviewRule = "majority"
) -> ReviewReport:
    reviews = read_reviews(store, at)
    if project is not None:
        reviews = reviews.filter(pl.col("project") == project)
    rows = current(reviews.filter(pl.col("verdict").is_in(list(choices("verdict")))))
    rows = rows.with_columns(annotator=pl.col("_who"))
    fleiss, multi = overall(rows, choices("verdict"))
    return ReviewReport(
        annotators=_counts(rows),
        pairs=pairwise(rows.select("item_id", "annotator", "verdict")),
        fleiss=fleiss,
        items_multi=multi,
        by_band=verdicts_by_band(store, at, resolve_reviews(reviews, rule)),
        rule=rule,
    )


def plot_report(report: ReviewReport, path: Path) -> Path:
    """Verdicts per annotator (stacked bars) beside resolved verdicts per band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    verdicts = choices("verdict")
    colors = {"accept": "#4c9a5b", "reject": "#c4473a", "fix": "#e0a030"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    _stacked(left, report.annotators, "annotator", verdicts, colors)
    kappa = "n/a" if report.fleiss != report.fleiss else f"{report.fleiss:.2f}"
    left.set_title(f"verdicts per annotator (Fleiss' kappa {kappa}, {report.items_multi} items)")
    band = (
        report.by_band.group_by("band")
        .agg([pl.col("items").filter(pl.col("verdict") == v).sum().alias(v) for v in verdicts])
        .sort("band")
    )
    _stacked(right, band, "band", verdicts, colors)
    right.set_title(f"resolved verdicts by band (rule {report.rule})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _stacked(ax, frame: pl.DataFrame, label: str, verdicts, colors) -> None:  # noqa: ANN001
    names = [str(v) for v in frame[label].to_list()] if frame.height else []
    bottom = [0] * len(names)
    for v in verdicts:
        values = frame[v].to_list() if frame.height else []
        ax.bar(names, values, bottom=bottom, label=v, color=colors[v])
        bottom = [b + x for b, x in zip(bottom, values, strict=True)]
    ax.set_ylabel("items" if label == "band" else "reviews")
    ax.tick_params(axis="x", rotation=20)
    ax.legend()
