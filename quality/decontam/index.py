"""The benchmark side of decontamination: n-gram, MinHash and value-signature indexes over the
registry's items, probed one batch of corpus texts at a time on every core.

Only the indexes live for the whole run. A corpus batch is tokenized, probed and dropped; of
its rows only those with a candidate match keep their text (for `hit_kinds`), so memory does
not grow with the corpus. Batches run on every core through `quality.kernels.parallel`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from quality.decontam.values import value_signatures
from quality.kernels.lsh import LSHIndex, pair_jaccard
from quality.kernels.minhash import minhash_texts, shingles, signatures_from_hashes
from quality.kernels.ngrams import NgramIndex
from quality.kernels.parallel import map_slices
from quality.kernels.tokens import tokenize_batch

if TYPE_CHECKING:
    from quality.decontam.stage import DecontamConfig

HIT_SCHEMA = pl.Schema(
    {
        "row": pl.Int64,
        "bench_row": pl.Int64,
        "method": pl.String,
        "matched_ngrams": pl.Int32,
        "jaccard": pl.Float64,
    }
)
CANDIDATE_SCHEMA = pl.Schema(
    {
        "item_id": pl.String(),
        "field": pl.String(),
        "text": pl.String(),
        **{k: v for k, v in HIT_SCHEMA.items() if k != "row"},
    }
)


class BenchmarkIndex:
    """The indexes over the benchmark items, built once and probed batch by batch."""

    def __init__(self, bench: pl.DataFrame, config: DecontamConfig) -> None:
        self.bench = bench
        self.config = config
        texts = self.clean(bench["text"]).to_arrow()
        self.ngrams = NgramIndex.build(
            tokenize_batch(texts), config.n, config.min_short, config.max_df
        )
        self.lsh: LSHIndex | None = None
        self.sig: np.ndarray | None = None
        if config.minhash or config.values:
            self.sig = minhash_texts(texts, config.num_perm, config.shingle, config.seed)
        if config.minhash and self.sig is not None:
            self.lsh = LSHIndex(self.sig, config.threshold)
        self.values = None
        if config.values:
            cleaned = self.clean(bench["text"])
            self.values = pl.DataFrame(
                {
                    "sig": value_signatures(cleaned.to_arrow()),
                    "bench_row": pl.int_range(bench.height, dtype=pl.Int64, eager=True),
                    "bench_len": cleaned.str.len_bytes(),
                }
            ).filter(pl.col("sig") != 0)
            # only prompt-sized texts are compared: a trace never has a problem's exact values
            self.values_max_len = 3 * int(self.values["bench_len"].to_numpy().max(initial=0)) + 200

    def clean(self, texts: pl.Series) -> pl.Series:
        for pattern in self.config.strip:
            texts = texts.str.replace_all(pattern, " ")
        return texts

    def hits(self, texts: pl.Series) -> pl.DataFrame:
        """(row, bench_row, method, matched_ngrams, jaccard) for a batch of texts."""
        cfg = self.config
        arrow = self.clean(texts).to_arrow()
        tokens = tokenize_batch(arrow)  # once, for the n-gram probe and the shingles
        ng = (
            self.ngrams.probe(tokens)
            .filter(pl.col("matched") >= cfg.min_matches)
            .select(
                pl.col("doc").alias("row"),
                pl.col("item").alias("bench_row"),
                pl.lit("ngram").alias("method"),
                pl.col("matched").cast(pl.Int32).alias("matched_ngrams"),
                pl.lit(None, pl.Float64).alias("jaccard"),
            )
        )
        frames = [ng.cast(HIT_SCHEMA)]
        if self.sig is None:  # neither minhash nor values
            return pl.concat(frames)
        h32, offsets = shingles(tokens, cfg.shingle)
        sig = signatures_from_hashes(h32, offsets, cfg.num_perm, cfg.seed)
        if self.lsh is not None:
            mh = self.lsh.query(sig).select(
                pl.col("query").alias("row"),
                pl.col("ref").alias("bench_row"),
                pl.lit("minhash").alias("method"),
                pl.lit(None, pl.Int32).alias("matched_ngrams"),
                "jaccard",
            )
            frames.append(mh.cast(HIT_SCHEMA))
        if self.values is not None:  # a fallback: only pairs the other checks missed
            seen = pl.concat(frames).select("row", "bench_row")
            same = self._same_values(arrow, sig)
            frames.append(same.join(seen, on=["row", "bench_row"], how="anti"))
        return pl.concat(frames)

    def _same_values(self, cleaned: pa.Array, sig: np.ndarray) -> pl.DataFrame:
        """Prompt-sized texts with exactly the values of a benchmark item and some wording in
        common (estimated Jaccard >= values_jaccard, far below the MinHash threshold)."""
        assert self.values is not None and self.sig is not None
        docs = pl.DataFrame(
            {
                "sig": value_signatures(cleaned, self.values_max_len),
                "doc_len": pl.Series(cleaned).str.len_bytes(),
            }
        ).with_row_index("row")
        found = docs.filter(pl.col("sig") != 0).join(self.values, on="sig")
        found = found.filter(pl.col("doc_len") <= 3 * pl.col("bench_len") + 200)
        rows, refs = found["row"].cast(pl.Int64).to_numpy(), found["bench_row"].to_numpy()
        jaccard = pair_jaccard(sig, self.sig, rows, refs)
        keep = jaccard >= self.config.values_jaccard
        return pl.DataFrame(
            {
                "row": rows[keep],
                "bench_row": refs[keep],
                "method": "values",
                "matched_ngrams": None,
                "jaccard": jaccard[keep],
            },
            schema=HIT_SCHEMA,
        )

    def candidates(self, items: pa.Table | pl.DataFrame) -> pl.DataFrame:
        """Candidate matches of a table of (item_id, field, text), with the matching rows' text."""
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
        found = hits.join(rows, on="row").select(list(CANDIDATE_SCHEMA))
        # a copy of just these rows: Polars string views would keep the batch's text alive
        return pl.DataFrame(found.to_dict(as_series=False), schema=CANDIDATE_SCHEMA)


def scan(
    batches: Iterable[pa.Table | pl.DataFrame], index: BenchmarkIndex, workers: int = 1
) -> pl.DataFrame:
    """Candidates of a stream of (item_id, field, text) tables, on `workers` threads."""
    found = [f for f in map_slices(batches, index.candidates, workers) if f.height]
    return pl.concat(found) if found else pl.DataFrame(schema=CANDIDATE_SCHEMA)
