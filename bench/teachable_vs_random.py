"""Teachable vs random: the three accuracies with their intervals and the paired differences.

Usage:
    teachable run recipes/experiments/teachable_vs_random.yaml       # the experiment, then
    .venv/bin/python bench/teachable_vs_random.py --store teachable-experiment
    .venv/bin/python bench/teachable_vs_random.py --run              # runs the recipe first

Prints, from an experiment store: the weak model's pass rate and bands per family and level
(where the gradient is), what each mixture holds, avg@N of the base model and the two
fine-tunes on the held-out items with the spread across runs and its 95% interval, maj@N and
pass@N, the paired differences (per-item, bootstrap interval, beyond run-to-run noise or not),
and accuracy per family and level. With --run it times every stage (wall and CPU seconds).

Measured: see the note at the end of this docstring once the experiment has run; the figures
are recorded whatever they say.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import polars as pl

from store import Store

RECIPE = (
    Path(__file__).resolve().parents[1] / "recipes" / "experiments" / "teachable_vs_random.yaml"
)
MODELS = ("base", "teachable", "random")
PAIRS = (("teachable", "base"), ("random", "base"), ("teachable", "random"))


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_recipe(recipe: Path, store_path: str | None) -> str:
    """Run every stage of the recipe, printing wall and CPU seconds per stage."""
    from curate.pipeline import load_recipe, run_stage

    default, stages = load_recipe(recipe)
    root = store_path or default or "teachable-experiment"
    start_wall, start_cpu = time.perf_counter(), _cpu_s()
    with Store.open(root) as store:
        for name, config in stages:
            wall, cpu = time.perf_counter(), _cpu_s()
            run_stage(store, name, config)
            print(
                f"{name:<12} wall {time.perf_counter() - wall:8.1f} s   cpu {_cpu_s() - cpu:8.1f} s"
            )
    wall, cpu = time.perf_counter() - start_wall, _cpu_s() - start_cpu
    print(f"{'total':<12} wall {wall:8.1f} s   cpu {cpu:8.1f} s")
    return root


def weak_model_gradient(store: Store) -> pl.DataFrame:
    """Pass rate and band counts of the weak model per family and level."""
    return store.sql(
        "SELECT s.source, s.level, count(*) AS seeds, round(avg(d.pass_rate), 3) AS pass_rate, "
        "count(*) FILTER (d.band = 'too_easy') AS too_easy, "
        "count(*) FILTER (d.band = 'teachable') AS teachable, "
        "count(*) FILTER (d.band = 'too_hard') AS too_hard "
        f"FROM {store.ref('difficulty')} d JOIN {store.ref('seeds')} s USING (seed_id) "
        "GROUP BY ALL ORDER BY ALL"
    )


def mixture_contents(store: Store) -> pl.DataFrame:
    """Rows per mixture, family and band, of each mixture's latest build."""
    items = store.latest("mixture_items", key="mixture")
    seeds = store.sql(f"SELECT seed_id, source, level FROM {store.ref('seeds')}")
    return (
        items.join(seeds, on="seed_id", how="left")
        .group_by("mixture", "source", "band")
        .agg(pl.len().alias("rows"), pl.col("level").mean().round(2).alias("mean_level"))
        .sort("mixture", "source", "band")
    )


def per_family(store: Store, labels: list[str]) -> pl.DataFrame:
    """Accuracy (mean over items and samples) per model, family and level on the held-out
    items."""
    evals = store.sql(
        f"SELECT e.model_name, s.source, s.level, e.correct FROM {store.ref('evals')} e "
        f"JOIN {store.ref('seeds')} s ON s.seed_id = e.item_id"
    ).filter(pl.col("model_name").is_in(labels))
    return (
        evals.group_by("source", "level", "model_name")
        .agg(pl.col("correct").mean().round(3))
        .pivot(on="model_name", index=["source", "level"], values="correct")
        .sort("source", "level")
        .select("source", "level", *[m for m in labels if m in evals["model_name"].unique()])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="experiment store (default: the recipe's)")
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--run", action="store_true", help="run the recipe first")
    parser.add_argument("--models", nargs=3, default=list(MODELS), metavar=("BASE", "A", "B"))
    args = parser.parse_args()
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_width_chars(200)
    root = (
        run_recipe(args.recipe, args.store) if args.run else (args.store or "teachable-experiment")
    )

    from curate.evaluation.report import (
        compare,
        current,
        eval_table,
        formatted_comparison,
        formatted_table,
    )

    base, first, second = args.models
    with Store.open(root, create=False) as store:
        print("weak-model pass rate and bands per family and level:")
        print(weak_model_gradient(store))
        print("\nmixtures (rows per family and band):")
        print(mixture_contents(store))
        summaries = current(store, models=args.models)
        print("\nheld-out accuracy, pass@1 averaged over N runs, with the spread across runs:")
        print(formatted_table(eval_table(summaries)))
        print("\npaired differences on the same items (A - B):")
        pairs = ((first, base), (second, base), (first, second))
        print(pl.concat([formatted_comparison(compare(store, a, b)) for a, b in pairs]))
        print("\nheld-out accuracy per family and level:")
        print(per_family(store, args.models))


if __name__ == "__main__":
    main()
