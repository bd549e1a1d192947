"""The teachable-vs-random experiment read back from its store: the weak model's gradient per
family and level, what each mixture holds, held-out accuracy per family with its run-to-run
interval, and a chart of that. `bench/teachable_vs_random.py` prints these and
notebooks/04_eval.ipynb draws them; both read any store with seeds, difficulty, mixtures and
evals (recipes/experiments/teachable_vs_random.yaml writes one).

Usage:
    accuracy_by(store, ["base", "teachable", "random"])             # per family and model
    accuracy_by(store, models, by=("source", "level"))               # per family, level, model
    experiment_plot(store, ["base", "teachable", "random"], Path("experiment.png"))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from curate.evaluation.metrics import RunStats, paired_difference, run_stats
from curate.evaluation.report import current, interval_bars
from store import Store
from store.errors import InputError
from store.tables import DIFFICULTY, EVALS, MIXTURE_ITEMS, SEEDS

MODELS = ("base", "teachable", "random")


def weak_model_gradient(store: Store, at: int | str | None = None) -> pl.DataFrame:
    """Pass rate and band counts of each weak model per family and level, from its current
    difficulty rows: where the gradient that makes a `teachable` band is."""
    return store.sql(
        "SELECT d.model_name AS weak, s.source, s.level, count(*) AS seeds, "
        "round(avg(d.pass_rate), 3) AS pass_rate, "
        "count(*) FILTER (d.band = 'too_easy') AS too_easy, "
        "count(*) FILTER (d.band = 'teachable') AS teachable, "
        "count(*) FILTER (d.band = 'too_hard') AS too_hard "
        f"FROM {store.latest_sql(DIFFICULTY, at=at)} d "
        f"JOIN {store.ref(SEEDS, at)} s USING (seed_id) GROUP BY ALL ORDER BY ALL"
    )


def mixture_contents(store: Store, at: int | str | None = None) -> pl.DataFrame:
    """Rows per mixture, family and band, of each mixture's latest build."""
    items = store.latest(MIXTURE_ITEMS, at=at)
    seeds = store.sql(f"SELECT seed_id, source, level FROM {store.ref(SEEDS, at)}")
    return (
        items.join(seeds, on="seed_id", how="left")
        .group_by("mixture", "source", "band")
        .agg(pl.len().alias("rows"), pl.col("level").mean().round(2).alias("mean_level"))
        .sort("mixture", "source", "band")
    )


def scored_samples(
    store: Store,
    models: list[str] | tuple[str, ...] = MODELS,
    by: tuple[str, ...] = ("source",),
    at: int | str | None = None,
) -> pl.DataFrame:
    """The samples behind each model's current eval (label `model`, its `N`), with the seed
    columns `by` of each item. Only items that are store seeds count, and only items with all
    N samples, so every figure computed from these is a slice of the summary's."""
    summaries = current(store, at, models=list(models))
    columns = "".join(f"s.{c}, " for c in by)
    frames = []
    for summary in summaries.iter_rows(named=True):
        n = int(summary["samples"])
        evals = store.sql(
            f"SELECT {columns}? AS model, ?::INTEGER AS N, e.item_id, e.sample, "
            "coalesce(e.correct, false) AS correct "
            f"FROM {store.ref(EVALS.name, at)} e "
            f"JOIN {store.ref(SEEDS, at)} s ON s.seed_id = e.item_id "
            "WHERE e.model = ? AND e.benchmark = ? AND e.sample < ?",
            [summary["model_name"], n, summary["model"], summary["benchmark"], n],
        )
        frames.append(evals.filter(pl.len().over("item_id") == n))
    samples = pl.concat(frames)
    if samples.height == 0:
        raise InputError(f"no eval of {list(models)} was scored on seeds of store {store.name}")
    return samples.sort("model", "item_id", "sample")


def _groups(
    frame: pl.DataFrame, by: tuple[str, ...]
) -> list[tuple[dict[str, object], pl.DataFrame]]:
    if not by:
        return [({}, frame)]
    return [
        (dict(zip(by, key, strict=True)), group)
        for key, group in frame.group_by(list(by), maintain_order=True)
    ]


def _stats(group: pl.DataFrame) -> tuple[int, RunStats]:
    n = int(group["N"][0])
    return n, run_stats(group["correct"].to_numpy().reshape(-1, n))


def accuracy_by(
    store: Store,
    models: list[str] | tuple[str, ...] = MODELS,
    by: tuple[str, ...] = ("source",),
    at: int | str | None = None,
) -> pl.DataFrame:
    """Accuracy of each model's current eval per group of seed columns `by` (the family is the
    seed's source), with the 95% interval over runs computed as eval_summaries does (run j =
    sample j of every item in the group)."""
    rows = []
    for key, group in _groups(scored_samples(store, models, by, at), (*by, "model")):
        n, stats = _stats(group)
        rows.append(
            key | {"N": n, "items": group.height // n, "accuracy": stats.avg}
            | {"ci_low": stats.ci_low, "ci_high": stats.ci_high}
        )  # fmt: skip
    order = {m: i for i, m in enumerate(models)}
    rank = pl.col("model").replace_strict(order, default=len(order))
    return pl.DataFrame(rows).sort([*by, rank])


def paired_by(
    store: Store,
    a: str,
    b: str,
    by: tuple[str, ...] = ("source",),
    at: int | str | None = None,
) -> pl.DataFrame:
    """`report.compare` per group of seed columns `by`: A - B on the items both scored, its
    bootstrap interval over items, and whether it exceeds the two models' run-to-run noise
    within the group."""
    samples = scored_samples(store, (a, b), by, at)
    rows = []
    for key, group in _groups(samples, by):
        mine = {name: g for (name,), g in group.group_by("model")}
        if a not in mine or b not in mine:
            continue
        items = sorted(set(mine[a]["item_id"]) & set(mine[b]["item_id"]))
        acc, se = {}, {}
        for name in (a, b):
            shared = mine[name].filter(pl.col("item_id").is_in(items))
            _, stats = _stats(shared)
            acc[name], se[name] = _item_means(shared), stats.std_err
        paired = paired_difference(acc[a], acc[b], se[a], se[b])
        rows.append(
            key | {"a": a, "b": b, "items": paired.items, "diff": paired.diff}
            | {"ci_low": paired.ci_low, "ci_high": paired.ci_high}
            | {"wins": paired.wins, "losses": paired.losses, "ties": paired.ties}
            | {"run_spread": paired.run_spread, "beyond_run_spread": paired.beyond_run_spread}
        )  # fmt: skip
    if not rows:
        raise InputError(f"{a!r} and {b!r} were scored on no common seed")
    return pl.DataFrame(rows)


def _item_means(samples: pl.DataFrame) -> np.ndarray:
    per_item = samples.group_by("item_id").agg(pl.col("correct").mean()).sort("item_id")
    return per_item["correct"].to_numpy()


def experiment_plot(
    store: Store,
    models: list[str] | tuple[str, ...] = MODELS,
    out: Path = Path("experiment.png"),
    at: int | str | None = None,
) -> Path:
    """Held-out accuracy per family, one bar per model with its 95% run-to-run interval, and
    the same over all families: a fine-tune beats the base model where its bar clears the
    other's interval."""
    families = accuracy_by(store, models, ("source",), at)
    overall = accuracy_by(store, models, (), at) if families["source"].n_unique() > 1 else None
    frame = families if overall is None else pl.concat(
        [families, overall.with_columns(source=pl.lit("all"))], how="diagonal_relaxed"
    )  # fmt: skip
    groups = frame["source"].unique(maintain_order=True).to_list()
    series = []
    for name in [m for m in models if m in set(frame["model"])]:
        mine = frame.filter(pl.col("model") == name)
        by_group = {r["source"]: r for r in mine.iter_rows(named=True)}
        series.append(
            (f"{name} (N={int(mine['N'].to_numpy().max())})", [by_group.get(g) for g in groups])
        )
    return interval_bars(
        groups, series, "accuracy", out,
        ylabel="held-out accuracy [avg of N]",
        title="held-out accuracy per family (95% interval over runs)",
        fig_width=1.8 * len(groups), tick_labels=[g.split("/")[-1] for g in groups],
    )  # fmt: skip
