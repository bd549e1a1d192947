"""Decontamination at scale: the real stage over a seeds table in a real store, two sizes.

Usage:  python bench/decontam.py [--rows 2000000] [--words 300] [--store DIR]

Builds (once; reused when DIR already holds it) a store whose `seeds` table grows in two runs
to --rows rows of --words words: Zipf-distributed random words (sentences, capitals) generated
by DuckDB, one row in 10,000 with a plain-prose benchmark problem pasted in. The first half is
tagged `half`, the whole `full`. Then it runs `run_decontam` (every shipped benchmark, default
settings: 13-grams, MinHash, same-values check, kinds) in a fresh process per measurement, so
each peak RSS is the stage's own:

  half, 1 core   full, 1 core   (RSS must stay flat as rows double)
  full, 2 cores                 (1 -> 2 core scaling)

"1 core" pins the process to one CPU (affinity), one worker thread, one Polars and one numba
thread; DuckDB's readers share that core. Tokens are words / 0.75. The projection for 8.3B
tokens on 16 cores is tokens / (per-core rate x 16 x the measured 2-core efficiency).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKENS_8B = 8.3e9
WORDS_PER_TOKEN = 0.75
PLANT_EVERY = 10_000
GEN_ROWS = 50_000  # rows generated and inserted per statement


def _generate(store_dir: Path, rows: int, words: int) -> None:
    """Two runs of rows/2 each into `seeds`, tagged half and full."""
    import numpy as np
    import polars as pl
    import pyarrow as pa

    from bench._corpus import _vocabulary
    from quality.benchmarks import Registry
    from store import Store, TableSpec

    spec = TableSpec("seeds", {"seed_id": "VARCHAR", "problem": "VARCHAR", "source": "VARCHAR"})
    bench = Registry.load().items()
    plain = bench.filter(~pl.col("text").str.contains(r"[\\$\[]"))["text"].to_list()
    vocab = _vocabulary(np.random.default_rng(0), 50_000).tolist()
    store = Store.open(store_dir)
    cursor = store._con.cursor()
    cursor.register("vocab_src", pa.table({"v": [vocab]}))
    cursor.register("bench_src", pa.table({"b": [plain]}))
    n_vocab = len(vocab)
    word = (
        f"v.v[CAST(floor(pow({n_vocab}, (hash(i * {words} + x) % 1000003) / 1000003.0)) AS BIGINT)]"
    )
    text = (
        f"array_to_string(list_transform(range({words}), x -> CASE WHEN x % 12 = 0 "
        f"THEN upper({word}[1]) || {word}[2:] WHEN x % 12 = 11 THEN {word} || '.' "
        f"ELSE {word} END), ' ')"
    )
    problem = f"b.b[CAST(1 + hash(i) % {len(plain)} AS BIGINT)]"
    planted = (
        f"CASE WHEN hash(i) % {PLANT_EVERY} = 0 THEN {problem} || ' ' || {text} ELSE {text} END"
    )
    half = rows // 2
    for tag, (lo, hi) in (("half", (0, half)), ("full", (half, rows))):
        start = time.perf_counter()
        with store.run("bench.generate", {"rows": [lo, hi], "words": words}) as run:
            for s in range(lo, hi, GEN_ROWS):
                query = (
                    f"SELECT 'd' || i AS seed_id, {planted} AS problem, 'bench' AS source "
                    f"FROM range({s}, {min(hi, s + GEN_ROWS)}) t(i), vocab_src v, bench_src b"
                )
                run.insert(spec, cursor.execute(query).arrow())
        store.tag(tag)
        print(f"generated rows {lo:,}..{hi:,} in {time.perf_counter() - start:.0f} s", flush=True)
    store.close()


def _warm_up() -> None:
    """Load (or compile) the numba kernels outside the timed region."""
    import polars as pl

    from quality.benchmarks import Registry
    from quality.decontam import BenchmarkIndex, DecontamConfig, find_contamination

    bench = Registry.load().items(["aime24"])
    items = pl.DataFrame({"item_id": ["w"], "field": ["problem"], "text": [bench["text"][0]]})
    find_contamination(items, BenchmarkIndex(bench, DecontamConfig()), workers=2)


def _measure(store_dir: Path, at: str, cores: int) -> dict:
    """One decontam run in this (fresh) process; returns its figures."""
    import resource

    import numba

    from quality.decontam import DecontamConfig, run_decontam
    from store import Store

    numba.set_num_threads(cores)
    _warm_up()
    store = Store.open(store_dir)
    n_rows, n_words = store.sql(
        f"SELECT count(*), sum(length(problem) - length(replace(problem, ' ', '')) + 1)::BIGINT "
        f"FROM {store.ref('seeds', at)}"
    ).row(0)
    config = DecontamConfig(at=at, tables=["seeds"], workers=cores)
    start = time.perf_counter()
    counts = run_decontam(store, config)
    wall = time.perf_counter() - start
    tokens = n_words / WORDS_PER_TOKEN
    return {
        "at": at,
        "cores": cores,
        "rows": n_rows,
        "words": int(n_words),
        "wall_s": round(wall, 1),
        "tokens_per_s": tokens / wall,
        "tokens_per_s_per_core": tokens / wall / cores,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seeds_contaminated": counts.get("seeds_contaminated", 0),
        "load_avg": os.getloadavg()[0],
    }


def _child(store_dir: Path, at: str, cores: int) -> dict:
    env = {**os.environ, "POLARS_MAX_THREADS": str(cores), "PYTHONPATH": str(REPO)}
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:cores])
    cmd = ["taskset", "-c", cpus, sys.executable, __file__, "--measure", at]
    cmd += ["--cores", str(cores), "--store", str(store_dir)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cores", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    store_dir = args.store or Path("/tmp") / f"teachable-bench-decontam-{args.rows}x{args.words}"
    if args.measure:
        print(json.dumps(_measure(store_dir, args.measure, args.cores)))
        return
    if not (store_dir / "catalog.sqlite").exists():
        _generate(store_dir, args.rows, args.words)
    results = [_child(store_dir, "half", 1), _child(store_dir, "full", 1)]
    if len(os.sched_getaffinity(0)) >= 2:
        results.append(_child(store_dir, "full", 2))
    print(f"\n{'size':<6} {'cores':>5} {'rows':>10} {'Mtokens':>8} {'wall s':>7} "
          f"{'tokens/s/core':>14} {'peak RSS MB':>12} {'flagged':>8} {'load':>5}")  # fmt: skip
    for r in results:
        mtokens = r["words"] / WORDS_PER_TOKEN / 1e6
        print(
            f"{r['at']:<6} {r['cores']:>5} {r['rows']:>10,} {mtokens:>8.0f} {r['wall_s']:>7}"
            f" {r['tokens_per_s_per_core']:>14,.0f} {r['peak_rss_mb']:>12,.0f}"
            f" {r['seeds_contaminated']:>8} {r['load_avg']:>5.1f}"
        )
    one = results[1]["tokens_per_s_per_core"]
    scaling = results[2]["tokens_per_s"] / results[1]["tokens_per_s"] if len(results) > 2 else 1.0
    efficiency = scaling / 2 if len(results) > 2 else 1.0
    wall = TOKENS_8B / (one * 16 * efficiency)
    print(
        f"\nRSS half -> full (rows x2): {results[0]['peak_rss_mb']:,.0f} -> "
        f"{results[1]['peak_rss_mb']:,.0f} MB; 1 -> 2 cores: {scaling:.2f}x "
        f"(efficiency {efficiency:.0%})"
    )
    print(
        f"projection, 8.3B tokens on 16 cores: {wall / 60:.0f} min "
        f"({one:,.0f} tokens/s/core x 16 x {efficiency:.0%})"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
