"""Decontamination at scale: the real stage over a seeds table in a real store, two sizes.

Usage:  python bench/decontam.py [--rows 2000000] [--words 300] [--store DIR]

Builds (once; reused when DIR already holds it) a store whose `seeds` table grows in two runs
to --rows rows of --words words: sentences of Zipf-distributed random words (bench/_corpus's
vocabulary), one row in 10,000 with a plain-prose benchmark problem pasted in. The first half is
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
SENTENCE_WORDS = 25


def _sentences(n: int, words: int, seed: int = 0) -> list[str]:
    """`n` prose-like sentences of `words` Zipf-distributed random words each (bench/_corpus)."""
    import numpy as np

    from bench._corpus import _vocabulary

    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng, 50_000)
    ranks = rng.zipf(1.1, size=(n, words)) - 1
    ids = np.where(ranks < len(vocab), ranks, rng.integers(0, len(vocab), ranks.shape))
    out = []
    for row in vocab[ids]:
        text = " ".join(row)
        out.append(text[0].upper() + text[1:] + ".")
    return out


def _generate(store_dir: Path, rows: int, words: int) -> None:
    """Two runs of rows/2 each into `seeds`, tagged half and full. A row is words/25 sentences
    drawn (by a hash of its number) from 200,000 distinct ones: every row is different while
    DuckDB builds it from lookups, not 300 random draws."""
    import polars as pl
    import pyarrow as pa

    from quality.benchmarks.registry import Registry
    from store import Store, TableSpec

    spec = TableSpec("seeds", {"seed_id": "VARCHAR", "problem": "VARCHAR", "source": "VARCHAR"})
    bench = Registry.load().items()
    plain = bench.filter(~pl.col("text").str.contains(r"[\\$\[]"))["text"].to_list()
    per_row = max(1, words // SENTENCE_WORDS)
    pool = _sentences(200_000, SENTENCE_WORDS)
    store = Store.open(store_dir)
    cursor = store._con.cursor()
    cursor.register("pool_src", pa.table({"s": [pool]}))
    cursor.register("bench_src", pa.table({"b": [plain]}))
    pick = f"p.s[CAST(1 + hash(i * {per_row} + k) % {len(pool)} AS BIGINT)]"
    text = f"array_to_string(list_transform(range({per_row}), k -> {pick}), ' ')"
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
                    f"FROM range({s}, {min(hi, s + GEN_ROWS)}) t(i), pool_src p, bench_src b"
                )
                run.insert(spec, cursor.execute(query).arrow())
        store.tag(tag)
        print(f"generated rows {lo:,}..{hi:,} in {time.perf_counter() - start:.0f} s", flush=True)
    store.close()


def _warm_up() -> None:
    """Load (or compile) the numba kernels outside the timed region."""
    import polars as pl

    from quality.benchmarks.registry import Registry
    from quality.decontam.stage import BenchmarkIndex, DecontamConfig, find_contamination

    bench = Registry.load().items(["aime24"])
    items = pl.DataFrame({"item_id": ["w"], "field": ["problem"], "text": [bench["text"][0]]})
    find_contamination(items, BenchmarkIndex(bench, DecontamConfig()), workers=2)


def _measure(store_dir: Path, at: str, cores: int) -> dict:
    """One decontam run in this (fresh) process: wall and CPU seconds, peak RSS."""
    import resource

    import numba

    from quality.decontam.stage import DecontamConfig, run_decontam
    from store import Store

    numba.set_num_threads(cores)
    _warm_up()
    store = Store.open(store_dir)
    config = DecontamConfig(at=at, tables=["seeds"], workers=cores)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    counts = run_decontam(store, config)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": after.ru_maxrss / 1024,
        "flagged": counts.get("seeds_contaminated", 0),
        "load_avg": os.getloadavg()[0],
    }


def _size(store_dir: Path, at: str) -> tuple[int, int]:
    """(rows, words) of the seeds table at `at` (words: runs of non-spaces)."""
    from store import Store
    from store.tables import SEEDS

    with Store.open(store_dir) as store:
        rows, words = store.sql(
            "SELECT count(*), sum(length(problem) - length(replace(problem, ' ', '')) + 1)"
            f"::BIGINT FROM {store.ref(SEEDS, at)}"
        ).row(0)
    return int(rows), int(words)


def _child(store_dir: Path, at: str, cores: int) -> dict:
    env = {**os.environ, "POLARS_MAX_THREADS": str(cores), "PYTHONPATH": str(REPO)}
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:cores])
    cmd = ["taskset", "-c", cpus, sys.executable, __file__, "--measure", at]
    cmd += ["--cores", str(cores), "--store", str(store_dir)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    rows, words = _size(store_dir, at)
    tokens = words / WORDS_PER_TOKEN
    result = {"at": at, "cores": cores, "rows": rows, "tokens": tokens}
    result |= json.loads(out.strip().splitlines()[-1])
    result["per_core"] = tokens / result["wall_s"] / cores
    result["per_cpu_s"] = tokens / result["cpu_s"]
    return result


def _report(results: list[dict]) -> None:
    print(f"\n{'size':<5} {'cores':>5} {'rows':>10} {'Mtokens':>8} {'wall s':>7} {'CPU s':>7} "
          f"{'tokens/s/core':>14} {'tokens/CPU-s':>13} {'peak RSS MB':>12} {'flagged':>7} "
          f"{'load':>5}")  # fmt: skip
    for r in results:
        print(
            f"{r['at']:<5} {r['cores']:>5} {r['rows']:>10,} {r['tokens'] / 1e6:>8,.0f} "
            f"{r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} {r['per_core']:>14,.0f} "
            f"{r['per_cpu_s']:>13,.0f} {r['peak_rss_mb']:>12,.0f} {r['flagged']:>7} "
            f"{r['load_avg']:>5.1f}"
        )
    half, full = results[0], results[1]
    print(
        f"\npeak RSS, rows x2: {half['peak_rss_mb']:,.0f} -> {full['peak_rss_mb']:,.0f} MB "
        f"(limit 1,536)"
    )
    one = full["per_core"]
    scaling = efficiency = work = 1.0
    if len(results) > 2:
        two = results[2]
        scaling = full["wall_s"] / two["wall_s"]
        efficiency = scaling / 2
        work = two["per_cpu_s"] / full["per_cpu_s"]
        busy = two["cpu_s"] / (two["wall_s"] * 2)
        print(
            f"1 -> 2 cores: {scaling:.2f}x wall (efficiency {efficiency:.0%}), its cores "
            f"{busy:.0%} busy; tokens per CPU-second {full['per_cpu_s']:,.0f} -> "
            f"{two['per_cpu_s']:,.0f} ({work:.0%})"
        )
    wall = TOKENS_8B / (one * 16 * efficiency)
    print(
        f"projection, 8.3B tokens on 16 cores: {wall / 60:,.0f} min "
        f"= 8.3e9 / ({one:,.0f} tokens/s/core x 16 x {efficiency:.0%})"
    )
    cpu_wall = TOKENS_8B / (full["per_cpu_s"] * 16 * work)
    print(
        f"  from CPU time instead (what the stage costs when no other process shares the "
        f"cores; serial parts ignored): {cpu_wall / 60:,.0f} min "
        f"= 8.3e9 / ({full['per_cpu_s']:,.0f} tokens/CPU-s x 16 x {work:.0%})"
    )


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
    _report(results)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
