"""`teachable report eval`: the current eval summaries as a table and a bar chart with 95%
intervals, and a paired comparison of two models on the same items.

Usage:
    rows = current(store)                          # the latest summary per (model, benchmark)
    eval_table(rows)                               # the figures under their usual names
    eval_plot(rows, Path("eval.png"))
    compare(store, "teachable", "random")          # one row per shared benchmark
    teachable report eval --out eval.png
    teachable report eval --compare teachable random
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from curate.evaluation.grading import item_accuracy, series_mean
from curate.evaluation.metrics import paired_difference
from curate.evaluation.stage import latest_summaries
from store import Store
from store.errors import InputError
from store.tables import EVALS

MAX_MODELS = 10  # bars per benchmark beyond this are unreadable


def current(
    store: Store,
    at: int | str | None = None,
    benchmarks: list[str] | None = None,
    models: list[str] | None = None,
) -> pl.DataFrame:
    """The current eval_summaries rows, optionally of some benchmarks and models (labels or
    hashes)."""
    return _filtered(latest_summaries(store, at), benchmarks, models)


def eval_table(summaries: pl.DataFrame) -> pl.DataFrame:
    """Per (model, benchmark): N, items, pass@1[avg-of-N] with its spread and 95% interval,
    majority@N, pass@N, the average per-item spread and the share without an answer."""
    pass_n = [
        json.loads(text).get(f"pass@{n}")
        for text, n in summaries.select("pass_at_k", "samples").iter_rows()
    ]
    return summaries.select(
        pl.col("model_name").alias("model"),
        "benchmark",
        pl.col("samples").alias("N"),
        "items",
        pl.col("avg").alias("pass@1[avg-of-N]"),
        "std_dev_across_runs",
        "std_err_across_runs",
        "ci_low",
        "ci_high",
        pl.col("majority").alias("majority@N"),
        pl.Series("pass@N", pass_n, dtype=pl.Float64),
        "avg_sample_std_dev",
        "no_answer",
    )


def _filtered(
    rows: pl.DataFrame, benchmarks: list[str] | None, models: list[str] | None
) -> pl.DataFrame:
    if benchmarks:
        rows = rows.filter(pl.col("benchmark").is_in(benchmarks))
    if models:
        hashes = [resolve_model_name(rows, m) for m in models]
        rows = rows.filter(pl.col("model").is_in(hashes))
    if rows.height == 0:
        raise InputError(f"no eval summaries match benchmarks={benchmarks} models={models}")
    return rows


def resolve_model_name(summaries: pl.DataFrame, name: str) -> str:
    """The model hash that `name` (a label, or a hash or its prefix) means."""
    found = summaries.filter(
        (pl.col("model_name") == name) | pl.col("model").str.starts_with(name)
    )["model"].unique()
    if found.len() == 1:
        return str(found[0])
    known = ", ".join(sorted(set(summaries["model_name"].to_list())))
    if found.len() == 0:
        raise InputError(f"no evaluated model named {name!r} (known: {known})")
    raise InputError(
        f"{name!r} names {found.len()} evaluated models ({', '.join(found.to_list())}); "
        "give a model hash instead"
    )


def eval_plot(summaries: pl.DataFrame, out: Path) -> Path:
    """Bars of pass@1[avg-of-N] per benchmark, one per model, with the 95% run-to-run interval
    (none when N = 1)."""
    benchmarks = sorted(summaries["benchmark"].unique().to_list())
    models = summaries.select("model", "model_name").unique(maintain_order=True).head(MAX_MODELS)
    series = []
    for model, name in models.iter_rows():
        mine = summaries.filter(pl.col("model") == model)
        by_bench = {r["benchmark"]: r for r in mine.iter_rows(named=True)}
        n = int(mine["samples"].to_numpy().max())
        series.append((f"{name} (N={n})", [by_bench.get(b) for b in benchmarks]))
    return interval_bars(
        benchmarks, series, "avg", out,
        ylabel="pass@1 [avg of N]", title="accuracy with 95% interval over runs",
        fig_width=1.6 * len(benchmarks) * max(1, models.height) ** 0.5,
    )  # fmt: skip


def interval_bars(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[dict[str, Any] | None]]],
    value: str,
    out: Path,
    *,
    ylabel: str,
    title: str,
    fig_width: float,
    tick_labels: Sequence[str] | None = None,
) -> Path:
    """Grouped bars: in each group one bar per series, its height the row's `value` with the
    95% interval `ci_low`..`ci_high` as error bar (none where the row lacks one, a gap where
    the series has no row). The one chart of accuracy over runs (eval report, experiment)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(5.0, fig_width), 4))
    x = np.arange(len(groups))
    for k, (label, rows) in enumerate(series):
        heights = [r[value] if r else np.nan for r in rows]
        low = [r[value] - r["ci_low"] if r and r["ci_low"] is not None else 0.0 for r in rows]
        high = [r["ci_high"] - r[value] if r and r["ci_high"] is not None else 0.0 for r in rows]
        ax.bar(x + k * width, heights, width, yerr=[low, high], capsize=3, label=label)
    ax.set_xticks(x + 0.4 - width / 2, list(tick_labels or groups))
    ax.set(ylabel=ylabel, ylim=(0, 1))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def compare(
    store: Store,
    a: str,
    b: str,
    benchmarks: list[str] | None = None,
    at: int | str | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Model A vs B on the items both were scored on, per shared benchmark: accuracies, the
    mean per-item difference A - B with its bootstrap interval over items, wins/losses, and
    whether the difference exceeds what run-to-run noise alone would give."""
    summaries = latest_summaries(store, at)
    hash_a, hash_b = resolve_model_name(summaries, a), resolve_model_name(summaries, b)
    sa = summaries.filter(pl.col("model") == hash_a)
    sb = summaries.filter(pl.col("model") == hash_b)
    shared = sorted(
        set(sa["benchmark"]) & set(sb["benchmark"]) & set(benchmarks or sa["benchmark"])
    )
    if not shared:
        raise InputError(f"{a!r} and {b!r} share no evaluated benchmark")
    rows = []
    for bench in shared:
        ra, rb = (s.filter(pl.col("benchmark") == bench).row(0, named=True) for s in (sa, sb))
        acc_a = _item_accuracy(store, at, hash_a, bench, ra["samples"])
        acc_b = _item_accuracy(store, at, hash_b, bench, rb["samples"])
        both = acc_a.join(acc_b, on=["item_id", "item_hash"], suffix="_b")
        if both.height == 0:
            continue
        paired = paired_difference(
            both["accuracy"].to_numpy(),
            both["accuracy_b"].to_numpy(),
            ra["std_err_across_runs"],
            rb["std_err_across_runs"],
            seed=seed,
        )
        rows.append(
            {
                "benchmark": bench,
                "a": ra["model_name"],
                "b": rb["model_name"],
                "items": paired.items,
                "acc_a": series_mean(both["accuracy"]),
                "acc_b": series_mean(both["accuracy_b"]),
                "diff": paired.diff,
                "ci_low": paired.ci_low,
                "ci_high": paired.ci_high,
                "ci_excludes_zero": paired.ci_excludes_zero,
                "wins": paired.wins,
                "losses": paired.losses,
                "ties": paired.ties,
                "run_spread": paired.run_spread,
                "beyond_run_spread": paired.beyond_run_spread,
            }
        )
    if not rows:
        raise InputError(f"{a!r} and {b!r} were scored on no common item")
    return pl.DataFrame(rows)


def _item_accuracy(
    store: Store, at: int | str | None, model: str, benchmark: str, samples: int
) -> pl.DataFrame:
    rows = store.sql(
        f"SELECT benchmark, item_id, item_hash, sample, correct FROM {store.ref(EVALS.name, at)} "
        "WHERE model = ? AND benchmark = ?",
        [model, benchmark],
    )
    return item_accuracy(rows, samples).drop("benchmark")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def formatted_table(table: pl.DataFrame) -> pl.DataFrame:
    """`eval_table` for a terminal: percentages, mean +- std across runs, the interval."""
    rows = []
    for r in table.iter_rows(named=True):
        spread = r["std_dev_across_runs"]
        rows.append(
            {
                "model": r["model"],
                "benchmark": r["benchmark"],
                "N": r["N"],
                "items": r["items"],
                "pass@1[avg] %": _pct(r["pass@1[avg-of-N]"])
                + ("" if spread is None else f" ± {_pct(spread)}"),
                "95% CI": "-"
                if r["ci_low"] is None
                else f"{_pct(r['ci_low'])}-{_pct(r['ci_high'])}",
                "maj@N %": _pct(r["majority@N"]),
                "pass@N %": _pct(r["pass@N"]),
                "no answer %": _pct(r["no_answer"]),
            }
        )
    return pl.DataFrame(rows)


def formatted_comparison(frame: pl.DataFrame) -> pl.DataFrame:
    """`compare` for a terminal: percentages, the interval, wins/losses/ties, the verdict."""
    rows = []
    for r in frame.iter_rows(named=True):
        beyond = r["beyond_run_spread"]
        rows.append(
            {
                "benchmark": r["benchmark"],
                "items": r["items"],
                f"{r['a']} %": _pct(r["acc_a"]),
                f"{r['b']} %": _pct(r["acc_b"]),
                "diff %": _pct(r["diff"]),
                "95% CI": f"{_pct(r['ci_low'])} to {_pct(r['ci_high'])}",
                "W/L/T": f"{r['wins']}/{r['losses']}/{r['ties']}",
                "beyond run noise": "n/a (N=1)" if beyond is None else ("yes" if beyond else "no"),
            }
        )
    return pl.DataFrame(rows)
