"""Export throughput: a 1.4M-item synthetic mixture to Parquet via curate.export, against
writing the same input rows with `polars.DataFrame.write_parquet` alone, in the same run.

    .venv/bin/python bench/export.py                 # 1.4M rows (~3 min on 2 cores)
    .venv/bin/python bench/export.py --rows 200000   # quicker

The rows are what `curate.mixtures` hands to the exporter (id, seed_id, part, domain, band,
question, reasoning, answer_text, answer). Text is drawn from a pool of random-word sentences
(question ~25 words, reasoning ~100, answer ~12), so sizes are modest: the real Phi-4 traces
average thousands of tokens. Export does more than the baseline: it renders `messages` and
`prompt` (system prompt and question written twice each), splits by seed hash, counts tokens
and writes the card. Each side runs `--repeat` times, alternating; the best time is reported.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from curate.export import ExportMeta, export_rows
from synth.prompts import REASONING_SYSTEM_PROMPT as SYSTEM


def _pool(rng: np.random.Generator, size: int, words: int) -> pl.Series:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, rng.integers(2, 9))) for _ in range(5000)])
    picks = vocab[rng.integers(0, vocab.size, size=(size, words))]
    return pl.Series([" ".join(row) + "." for row in picks])


def _text(pool: pl.Series, rng: np.random.Generator, n: int, pieces: int) -> pl.Series:
    parts = [pool.gather(rng.integers(0, pool.len(), n)) for _ in range(pieces)]
    return pl.DataFrame(parts).select(pl.concat_str(pl.all(), separator=" ")).to_series()


def synthetic_mixture(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    pool = _pool(rng, 50_000, 12)
    index = pl.int_range(n, eager=True)
    seed_index = pl.Series(rng.integers(0, max(1, n // 2), n))
    return pl.DataFrame(
        {
            "id": index.cast(pl.String).str.zfill(32),
            "seed_id": seed_index.cast(pl.String).str.zfill(32),
            "part": pl.Series(["teachable-math", "rewritten", "hard"]).gather(
                rng.integers(0, 3, n)
            ),
            "domain": pl.Series(["math", "logic", "code"]).gather(rng.integers(0, 3, n)),
            "band": pl.Series(["teachable", "too_hard"]).gather(rng.integers(0, 2, n)),
            "question": _text(pool, rng, n, 2),
            "reasoning": _text(pool, rng, n, 8),
            "answer_text": _text(pool, rng, n, 1),
            "answer": (seed_index * 7).cast(pl.String),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_400_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    args = parser.parse_args()

    start = time.perf_counter()
    rows = synthetic_mixture(args.rows)
    print(
        f"synthetic mixture: {rows.height:,} rows, {rows.estimated_size() / 1e9:.2f} GB in "
        f"memory, built in {time.perf_counter() - start:.1f}s"
    )
    meta = ExportMeta(name="bench", snapshot_id=0, system_prompt=SYSTEM.read_text())
    work = Path(tempfile.mkdtemp(prefix="teachable-bench-export-"))
    best = {"polars.write_parquet": float("inf"), "curate.export (parquet)": float("inf")}
    sizes = {}
    try:
        for _ in range(args.repeat):
            start = time.perf_counter()
            rows.write_parquet(work / "baseline.parquet")
            best["polars.write_parquet"] = min(
                best["polars.write_parquet"], time.perf_counter() - start
            )
            sizes["polars.write_parquet"] = (work / "baseline.parquet").stat().st_size
            (work / "baseline.parquet").unlink()

            start = time.perf_counter()
            result = export_rows(
                rows, meta, work / "export", batch_rows=args.batch_rows, overwrite=True
            )
            best["curate.export (parquet)"] = min(
                best["curate.export (parquet)"], time.perf_counter() - start
            )
            sizes["curate.export (parquet)"] = sum(f.stat().st_size for f in result.files)
            assert sum(result.rows.values()) == rows.height
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for name, seconds in best.items():
        print(
            f"{name:>24}: {seconds:6.2f}s  {rows.height / seconds:>12,.0f} rows/s  "
            f"{sizes[name] / 1e9:.2f} GB written"
        )
    ratio = best["polars.write_parquet"] / best["curate.export (parquet)"]
    print(f"export throughput / polars.write_parquet throughput = {ratio:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
