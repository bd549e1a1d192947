"""The benchmark side of decontamination: n-gram and MinHash indexes over the registry's items,
probed one batch of corpus texts at a time on every core.

Only the indexes live for the whole run. A corpus batch is tokenized, probed and dropped; of
its rows only those with a candidate match keep their text (for `hit_kinds`), so memory does
not grow with the corpus. Batches run on every core through `quality.parallel`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from quality.lsh import LSHIndex, pair_jaccard
from quality.minhash import minhash_texts
from quality.ngrams import NgramIndex
from quality.parallel import map_slices
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


_COMMAND = r"\\[A-Za-z]+"
_RUN = r"[A-Za-z]+|\d+"
# the values hit_kinds compares: numbers, one-letter variables (not "a", "I"), runs of capitals
_VALUE = r"^(?:\d+|[b-hj-zB-HJ-Z]|[A-Z]{2,})$"


def value_signatures(texts: pl.Series) -> pl.Series:
    """Hash of each text's values (numbers, variables, capitalised names such as triangle
    PQR) as a sorted multiset; null for a text without values. Rewording keeps it; changing a
    number changes it. The hash is Polars': compare signatures made in one process only."""
    values = (
        texts.str.replace_all(_COMMAND, " ")
        .str.extract_all(_RUN)
        .list.eval(pl.element().filter(pl.element().str.contains(_VALUE)).str.to_lowercase())
    )
    specific = values.list.len() > 0
    signature = values.list.sort().list.join(" ").hash()
    return pl.select(pl.when(specific).then(signature)).to_series()


class BenchmarkIndex:
    """The indexes over the benchmark items, built once and probed batch by batch."""

    def __init__(self, bench: pl.DataFrame, config: DecontamConfig) -> None:
        self.bench = bench
        self.config = config
        texts = self.clean(bench["text"]).to_arrow()
        self.ngrams = NgramIndex.build(
            tokenize_batch(texts), config.n, config.min_short, config.max_df
        )
        self.lsh = None
        self.sig = None
        if config.minhash or config.values:
            self.sig = minhash_texts(texts, config.num_perm, config.shingle, config.seed)
        if config.minhash:
            self.lsh = LSHIndex(self.sig, config.threshold)
        self.values = None
        if config.values:
            cleaned = self.clean(bench["text"])
            self.values = pl.DataFrame(
                {
                    "sig": value_signatures(cleaned),
                    "bench_row": pl.int_range(bench.height, dtype=pl.Int64, eager=True),
                    "bench_len": cleaned.str.len_bytes(),
                }
            ).drop_nulls("sig")
            # only prompt-sized texts are compared: a trace never has a problem's exact values
            self.values_max_len = 3 * int(self.values["bench_len"].max() or 0) + 200

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
        sig = None
        if self.sig is not None:
            sig = minhash_texts(arrow, cfg.num_perm, cfg.shingle, cfg.seed)
        if self.lsh is not None:
            mh = self.lsh.query(sig).select(
                pl.col("query").alias("row"),
                pl.col("ref").alias("bench_row"),
                pl.lit("minhash").alias("method"),
                pl.lit(None, pl.Int32).alias("matched_ngrams"),
                "jaccard",
            )
            frames.append(mh.cast(HIT_SCHEMA))  # type: ignore[arg-type]
        if self.values is not None:  # a fallback: only pairs the other checks missed
            seen = pl.concat(frames).select("row", "bench_row")
            same = self._same_values(pl.Series(arrow), sig)
            frames.append(same.join(seen, on=["row", "bench_row"], how="anti"))
        return pl.concat(frames)

    def _same_values(self, cleaned: pl.Series, sig: np.ndarray) -> pl.DataFrame:
        """Prompt-sized texts with exactly the values of a benchmark item and some wording in
        common (estimated Jaccard >= values_jaccard, far below the MinHash threshold)."""
        assert self.values is not None and self.sig is not None
        docs = (
            pl.DataFrame({"text": cleaned, "doc_len": cleaned.str.len_bytes()})
            .with_row_index("row")
            .filter(pl.col("doc_len") <= self.values_max_len)
        )
        docs = docs.with_columns(sig=value_signatures(docs["text"])).drop("text")
        found = docs.drop_nulls("sig").join(self.values, on="sig")
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
        return hits.join(rows, on="row").select(list(CANDIDATE_SCHEMA))


def scan(
    batches: Iterable[pa.Table | pl.DataFrame], index: BenchmarkIndex, workers: int = 1
) -> pl.DataFrame:
    """Candidates of a stream of (item_id, field, text) tables, on `workers` threads."""
    found = [f for f in map_slices(batches, index.candidates, workers) if f.height]
    return pl.concat(found) if found else pl.DataFrame(schema=CANDIDATE_SCHEMA)
