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

Measured (issue 12; 2 cores shared with other jobs, load average 2-27): the recipe stops at its
first mix.build, as it must. At the default size (400 pool seeds, 60 held-out), difficulty
(SmolLM2 3-shot, K=4 adaptive, max_tokens 48) took 646 s wall / 644 s CPU with about half of
its 1519 samples already in the request cache, and banded 14 of 400 seeds teachable; the
strict teachable mixture (count 64) then refuses to build. At 64 pool seeds: 687 s, 1 of 64.
The weak model's pass rate per family and level (400 seeds) is a step, not a slope:
    echo_number     levels 1-5: 1.0, 0.964, 0.993, 0.928, 0.971 (too_easy 210, teachable 9)
    reverse_digits  levels 1-5: 1.0, 0.061, 0.0, 0.0, 0.0 (teachable 5, all at level 2)
The echo_number drop at levels 4-5 that issue 12 measured with max_tokens 12 was truncation
(16 and 32 digits do not fit).
Run to the end with both mixtures at the 14 teachable traces there are (`count: 14`),
`max_steps: 7` (two epochs at batch 4), eval `max_tokens: 160`, `limit: 20` held-out items,
avg@4: SFT 189 s and 155 s, evals 117 s (partly cached), 162 s, 163 s. Held-out pass@1[avg-of-4]:
    base 22.5 +- 8.7 (95% 8.7-36.3)   teachable 28.7 +- 13.8 (6.8-50.7)
    random 33.8 +- 9.5 (18.7-48.8)
    paired: teachable - base +6.2 (-6.2 to 18.8), random - base +11.2 (2.5 to 20.0),
    teachable - random -5.0 (-17.5 to 6.2); none beyond run-to-run noise.
    per family: echo_number base 31.2 / teachable 43.8 / random 45.8; reverse_digits 9.4 / 6.2 /
    15.6 (8 and 12 items; every per-family difference inside the run spread).
What it means: at 14 training rows and 20 items nothing separates the arms; both fine-tunes
may beat base slightly (random's item-bootstrap interval excludes 0, but not the run noise).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import polars as pl

from curate.evaluation.experiment import (
    MODELS,
    accuracy_by,
    experiment_plot,
    mixture_contents,
    paired_by,
    weak_model_gradient,
)
from store import Store

RECIPE = (
    Path(__file__).resolve().parents[1] / "recipes" / "experiments" / "teachable_vs_random.yaml"
)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="experiment store (default: the recipe's)")
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--run", action="store_true", help="run the recipe first")
    parser.add_argument("--models", nargs=3, default=list(MODELS), metavar=("BASE", "A", "B"))
    parser.add_argument("--plot", type=Path, default=None, help="also draw the per-family chart")
    args = parser.parse_args()
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_fmt_str_lengths(40)
    pl.Config.set_tbl_cols(20)
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
        for a, b in pairs:  # columns are named after the two models: one table per pair
            print(formatted_comparison(compare(store, a, b)))
        print("\nheld-out accuracy per family, with the 95% interval over runs:")
        print(_pct(accuracy_by(store, args.models, ("source",)), "accuracy"))
        print("\npaired differences per family (A - B, bootstrap interval over items):")
        per_family = [paired_by(store, a, b, ("source",)) for a, b in pairs]
        print(_pct(pl.concat(per_family), "diff", "run_spread"))
        print("\nheld-out accuracy per family and level:")
        by_level = accuracy_by(store, args.models, ("source", "level"))
        print(
            by_level.pivot(on="model", index=["source", "level"], values="accuracy").sort(
                "source", "level"
            )
        )
        if args.plot:
            print(f"\nchart: {experiment_plot(store, args.models, args.plot)}")


def _pct(frame: pl.DataFrame, *value: str) -> pl.DataFrame:
    """Figures as percentages with one decimal, intervals as [low, high]."""

    def pct(col: str) -> pl.Expr:
        return (pl.col(col) * 100).round(1)

    return frame.with_columns(
        *(pct(c) for c in value),
        pl.format("[{}, {}]", pct("ci_low"), pct("ci_high")).alias("95% interval"),
    ).drop("ci_low", "ci_high")


if __name__ == "__main__":
    main()
