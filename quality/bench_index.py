"""The benchmark side of decontamination: n-gram and MinHash indexes over the registry's items,
probed one batch of corpus texts at a time on every core.

Only the indexes live for the whole run. A corpus batch is tokenized, probed and dropped; of
its rows only those with a candidate match keep their text (for `hit_kinds`), so memory does
not grow with the corpus. Batches are cut into one slice per worker thread; the numba kernels
release the GIL and each worker runs them single-threaded, so the slices use the cores side
by side while the next batch is being read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numba
import polars as pl
import pyarrow as pa

from quality.lsh import LSHIndex
from quality.minhash import minhash_texts
from quality.ngrams import NgramIndex
from quality.text import tokenize_batch

if TYPE_CHECKING:
    from quality.decontam import DecontamConfig

HIT_SCHEMA = {
    "row": pl.Int64,
    "bench_row": pl.Int64,
    "method": pl.String,
    "matched_ngrams": pl.Int32,
    "jaccard": pl.Float64,
}
CANDIDATE_SCHEMA = {
    "item_id": pl.String,
    "field": pl.String,
    "text": pl.String,
    **{k: v for k, v in HIT_SCHEMA.items() if k != "row"},
}


class BenchmarkIndex:
    """Both indexes over the benchmark items, built once and probed batch by batch."""

    def __init__(self, bench: pl.DataFrame, config: DecontamConfig) -> None:
        self.bench = bench
        self.config = config
        texts = self.clean(bench["text"]).to_arrow()
        self.ngrams = NgramIndex.build(
            tokenize_batch(texts), config.n, config.min_short, config.max_df
        )
        self.lsh = None
        if config.minhash:
            sig = minhash_texts(texts, config.num_perm, config.shingle, config.seed)
            self.lsh = LSHIndex(sig, config.threshold)

    def clean(self, texts: pl.Series) -> pl.Series:
        for pattern in self.config.strip:
            texts = texts.str.replace_all(pattern, " ")
        return texts

    def hits(self, texts: pl.Series) -> pl.DataFrame:
        """(row, bench_row, method, matched_ngrams, jaccard) for a batch of texts."""
        cfg = self.config
        arrow = self.clean(texts).to_arrow()
        ng = (
            self.ngrams.probe(tokenize_batch(arrow))
            .filter(pl.col("matched") >= cfg.min_matches)
            .select(
                pl.col("doc").alias("row"),
                pl.col("item").alias("bench_row"),
                pl.lit("ngram").alias("method"),
                pl.col("matched").cast(pl.Int32).alias("matched_ngrams"),
                pl.lit(None, pl.Float64).alias("jaccard"),
            )
        )
        frames = [ng.cast(HIT_SCHEMA)]  # type: ignore[arg-type]
        if self.lsh is not None:
            sig = minhash_texts(arrow, cfg.num_perm, cfg.shingle, cfg.seed)
            mh = self.lsh.query(sig).select(
                pl.col("query").alias("row"),
                pl.col("ref").alias("bench_row"),
                pl.lit("minhash").alias("method"),
                pl.lit(None, pl.Int32).alias("matched_ngrams"),
                "jaccard",
            )
            frames.append(mh.cast(HIT_SCHEMA))  # type: ignore[arg-type]
        return pl.concat(frames)

    def candidates(
        self, items: pa.Table | pl.DataFrame, single_thread: bool = False
    ) -> pl.DataFrame:
        """Candidate matches of a table of (item_id, field, text), with the matching rows' text."""
        if single_thread:
            numba.set_num_threads(1)  # per thread: this worker uses one core
        frame = items if isinstance(items, pl.DataFrame) else pl.from_arrow(items)
        assert isinstance(frame, pl.DataFrame)
        hits = self.hits(frame["text"].cast(pl.String).fill_null(""))
        if hits.height == 0:
            return pl.DataFrame(schema=CANDIDATE_SCHEMA)
        rows = frame.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
            pl.col("item_id").cast(pl.String),
            pl.col("field").cast(pl.String),
            pl.col("text").cast(pl.String),
        )
        return hits.join(rows, on="row").select(list(CANDIDATE_SCHEMA))


def scan(
    batches: Iterable[pa.Table | pl.DataFrame], index: BenchmarkIndex, workers: int = 1
) -> pl.DataFrame:
    """Candidates of a stream of (item_id, field, text) tables, `workers` slices at a time."""
    found: list[pl.DataFrame] = []
    if workers <= 1:
        found = [index.candidates(batch) for batch in batches]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="decontam") as pool:
            pending: deque[Future[pl.DataFrame]] = deque()
            for batch in batches:
                if len(batch) == 0:
                    continue
                step = -(-len(batch) // workers)
                for start in range(0, len(batch), step):
                    part = batch.slice(start, step)
                    pending.append(pool.submit(index.candidates, part, True))
                while len(pending) > 2 * workers:  # bounds the batches held in memory
                    found.append(pending.popleft().result())
            found += [f.result() for f in pending]
    found = [f for f in found if f.height]
    return pl.concat(found) if found else pl.DataFrame(schema=CANDIDATE_SCHEMA)
