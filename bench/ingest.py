"""Ingest throughput vs raw Parquet.

    python bench/ingest.py [--rows 1000000] [--repeat 3]

Writes N synthetic seeds (GSM8K-like: question + worked answer ending '#### N') to JSONL, then
times, in this process:
  baseline  polars.read_ndjson + the same normalization and xxh3 hashing + write_parquet
  teachable `run_ingest` into a fresh DuckLake store (dedup, answer extraction, provenance,
            one committed snapshot)
and prints rows/s and the ratio teachable/baseline (target >= 0.5). With --repeat N each side
runs N times (ingest into a fresh store each time) and the fastest counts: on a shared machine
the minimum is the figure least disturbed by other work.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import polars as pl

from curate.seeds.ingest import IngestConfig, run_ingest
from curate.seeds.normalize import content_ids, normalize_expr
from store import Store

_WORDS = ["apples", "train", "hours", "total", "each", "more", "than", "twice", "sold", "bakery"]


def write_corpus(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w") as handle:
        for i in range(rows):
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 60)))
            answer = rng.randint(1, 10_000)
            record = {
                "question": f"Problem {i}: {words}. How many {rng.choice(_WORDS)}?",
                # like GSM8K: a worked solution, the final answer after ####, rarely with commas
                "answer": f"First {words[:40]} = <<{answer}>>.\n#### "
                + (f"{answer:,}" if i % 20 == 0 else str(answer)),
            }
            handle.write(json.dumps(record) + "\n")


def baseline(source: Path, out: Path) -> None:
    frame = pl.read_ndjson(source).with_columns(normalize_expr("question").alias("question"))
    frame = frame.with_columns(content_ids(frame["question"]).alias("seed_id"))
    frame.write_parquet(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "seeds.jsonl"
        write_corpus(source, args.rows)
        size_mb = source.stat().st_size / 1e6
        print(f"corpus: {args.rows:,} rows, {size_mb:,.0f} MB JSONL")

        base_s = ours_s = float("inf")
        for attempt in range(args.repeat):
            start = time.perf_counter()
            baseline(source, Path(tmp) / "baseline.parquet")
            base_s = min(base_s, time.perf_counter() - start)

            with Store.open(Path(tmp) / f"store{attempt}") as store:
                start = time.perf_counter()
                counts = run_ingest(store, IngestConfig(source=str(source), name="bench"))
                ours_s = min(ours_s, time.perf_counter() - start)
            assert counts["seeds_inserted"] == args.rows, counts

    print(
        f"baseline (read_ndjson + hash + write_parquet): {base_s:6.2f} s  "
        f"{args.rows / base_s:>12,.0f} rows/s"
    )
    print(
        f"teachable run_ingest (DuckLake, dedup, answers): {ours_s:6.2f} s  "
        f"{args.rows / ours_s:>12,.0f} rows/s"
    )
    print(f"ratio teachable/baseline: {base_s / ours_s:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
