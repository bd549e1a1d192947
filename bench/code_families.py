"""SmolLM2's pass rate per synthetic code family and level, every program judged in the sandbox.

Usage:
    .venv/bin/python bench/code_families.py                      # 4 seeds per cell, K=4
    .venv/bin/python bench/code_families.py --per-cell 2 --samples 2 --keep /tmp/codefam

Generates `per_cell` seeds for each (family, level) of curate/synthetic/code_families.py, runs
`difficulty` with SmolLM2-135M-Instruct (chat prompt `attempt_code.txt`, fixed K, temperature
0.7, code_max_tokens 256) and prints the pass rate (correct attempts / attempts) per family and
level, plus the bands. The README's "Code seeds" table comes from this script.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from curate.synthetic.code_families import CODE_FAMILIES
from curate.synthetic.generate import SynthConfig, run_synth
from curate.teachability.difficulty import DifficultyConfig, run_difficulty
from store import Store
from store.tables import ATTEMPTS, DIFFICULTY, SEEDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-cell", type=int, default=4)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--keep", type=Path, default=None, help="Store folder to keep.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="codefam-"))
    families = list(CODE_FAMILIES)
    count = args.per_cell * len(families) * 5
    with Store.open(root / "store") as store:
        run_synth(store, SynthConfig(families=families, count=count, seed=0, name="synthetic"))
        start = time.perf_counter()
        config = DifficultyConfig(
            weak=["smollm2"], samples=args.samples, adaptive=False, code_max_tokens=args.max_tokens
        )
        counts = run_difficulty(store, config)
        seconds = time.perf_counter() - start
        seeds = store.table(SEEDS).select("seed_id", "source", "level")
        attempts = store.table(ATTEMPTS).join(seeds, on="seed_id")
        bands = store.table(DIFFICULTY).join(seeds, on="seed_id")
    table = (
        attempts.group_by("source", "level")
        .agg(pl.col("correct").mean().round(2).alias("pass_rate"), pl.len().alias("attempts"))
        .sort("source", "level")
    )
    wide = table.pivot(on="level", index="source", values="pass_rate", sort_columns=True)
    with pl.Config(
        tbl_rows=100, tbl_cols=20, tbl_formatting="MARKDOWN", tbl_hide_dataframe_shape=True
    ):
        print(wide)
        print(bands.group_by("band").len().sort("band"))
    print(f"{counts.get('calls', 0)} calls in {seconds:.0f} s; store at {root}")


if __name__ == "__main__":
    main()
