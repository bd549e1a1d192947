"""Decontamination: corpus items against the benchmark registry, by exact n-grams and MinHash.

* n-gram: an item field is contaminated by a benchmark item when they share at least
  `min_matches` distinct word n-grams (n = 13 by default) after normalization, or when the field
  contains the whole word sequence of a benchmark item shorter than n words (>= `min_short`).
* MinHash: estimated Jaccard of word k-shingle sets >= `threshold` (LSH-banded, then verified):
  catches re-formatted and lightly paraphrased problems the n-gram check misses. It compares
  whole texts, so it is meant for prompt-sized items; a benchmark problem quoted inside a long
  trace is the n-gram check's job (Jaccard of a 60-word problem vs a 3,000-word trace is tiny).

Every hit is one row of `contamination`; nothing is removed here (exports exclude contaminated
items). Reruns are idempotent: a hit already recorded is not written twice.
"""

from __future__ import annotations

import polars as pl
from pydantic import Field

from quality.benchmarks import Registry
from quality.lsh import LSHIndex
from quality.minhash import minhash_texts
from quality.ngrams import NgramIndex
from quality.tables import CONTAMINATION, CONTAMINATION_KEY
from quality.text import tokenize_batch
from store import StageConfig, Store

# table -> (id column, prompt-side fields); traces are checked only with include_traces
TABLE_FIELDS: dict[str, tuple[str, list[str]]] = {
    "seeds": ("seed_id", ["problem"]),
    "questions": ("question_id", ["question"]),
    "traces": ("trace_id", ["reasoning", "answer_text"]),
}


class DecontamConfig(StageConfig):
    registry: str | None = None
    """Registry YAML; default $TEACHABLE_BENCHMARKS or the shipped one."""
    benchmarks: list[str] | None = None
    """Benchmarks to check against (repeatable); default every registry entry."""
    tables: list[str] = Field(default_factory=lambda: ["seeds", "questions"])
    """Item tables to check."""
    include_traces: bool = False
    """Also check traces (reasoning, answer)."""
    fields: dict[str, list[str]] | None = None
    """Override the checked fields per table, e.g. {"seeds": ["problem"]}."""
    n: int = Field(13, ge=3)
    """Words per n-gram."""
    min_matches: int = Field(1, ge=1)
    """Shared n-grams that flag an item."""
    min_short: int = Field(6, ge=2)
    """Shortest benchmark item (in words) matched by containment."""
    max_df: int = Field(2, ge=0)
    """Drop n-grams shared by more benchmark items than this (boilerplate)."""
    strip: list[str] = Field(default_factory=lambda: [r"(?is)\[asy\].*?\[/asy\]"])
    """Regexes removed before normalization on both sides; default: Asymptote figure code,
    whose "dot(A); dot(B); ..." lines otherwise match across unrelated geometry problems."""
    minhash: bool = True
    """Also compare MinHash signatures (catches reformatted and lightly paraphrased copies)."""
    threshold: float = Field(0.5, gt=0, le=1)
    """MinHash Jaccard threshold (with 3-word shingles: 0 GSM8K-vs-MATH hits)."""
    num_perm: int = 128
    shingle: int = 3
    """Words per MinHash shingle: short, so light paraphrases keep most shingles."""
    seed: int = 1
    batch_size: int = Field(200_000, ge=1)
    """Items probed per batch."""


_HIT_SCHEMA = {
    "row": pl.Int64,
    "bench_row": pl.Int64,
    "method": pl.String,
    "matched_ngrams": pl.Int32,
    "jaccard": pl.Float64,
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
        frames = [ng.cast(_HIT_SCHEMA)]  # type: ignore[arg-type]
        if self.lsh is not None:
            sig = minhash_texts(arrow, cfg.num_perm, cfg.shingle, cfg.seed)
            mh = self.lsh.query(sig).select(
                pl.col("query").alias("row"),
                pl.col("ref").alias("bench_row"),
                pl.lit("minhash").alias("method"),
                pl.lit(None, pl.Int32).alias("matched_ngrams"),
                "jaccard",
            )
            frames.append(mh.cast(_HIT_SCHEMA))  # type: ignore[arg-type]
        return pl.concat(frames)


def find_contamination(
    items: pl.DataFrame, index: BenchmarkIndex, batch_size: int = 200_000
) -> pl.DataFrame:
    """Hits of `items` (item_id, field, text) as contamination rows without run columns."""
    out = []
    for start in range(0, items.height, batch_size):
        chunk = items.slice(start, batch_size).with_row_index("row")
        hits = index.hits(chunk["text"].fill_null(""))
        if hits.height == 0:
            continue
        bench = index.bench.with_row_index("bench_row").select(
            pl.col("bench_row").cast(pl.Int64),
            "benchmark",
            pl.col("item_id").alias("benchmark_item_id"),
        )
        out.append(
            hits.join(chunk.select(pl.col("row").cast(pl.Int64), "item_id", "field"), on="row")
            .join(bench, on="bench_row")
            .select(
                "item_id",
                "field",
                "benchmark",
                "benchmark_item_id",
                "method",
                "matched_ngrams",
                "jaccard",
            )
        )
    if not out:
        schema = {
            "item_id": pl.String,
            "field": pl.String,
            "benchmark": pl.String,
            "benchmark_item_id": pl.String,
            "method": pl.String,
            "matched_ngrams": pl.Int32,
            "jaccard": pl.Float64,
        }
        return pl.DataFrame(schema=schema)
    return pl.concat(out).sort("item_id", "field", "benchmark", "benchmark_item_id", "method")


def _table_items(store: Store, table: str, fields: list[str], id_col: str, at: int) -> pl.DataFrame:
    """(item_id, field, text), reading only the id and text columns at snapshot `at`."""
    ref = store.ref(table, at)
    columns = store.sql(f"SELECT * FROM {ref} LIMIT 0").columns
    missing = [c for c in [id_col, *fields] if c not in columns]
    if missing:
        raise ValueError(f"table '{table}' has no column(s) {missing}")
    union = " UNION ALL ".join(
        f'SELECT "{id_col}"::VARCHAR AS item_id, \'{f}\' AS field, "{f}"::VARCHAR AS text '
        f'FROM {ref} WHERE "{f}" IS NOT NULL'
        for f in fields
    )
    return store.sql(union)


def run_decontam(store: Store, config: DecontamConfig) -> dict[str, int]:
    with store.run("decontam", config) as run:
        registry = Registry.load(config.registry)
        bench = registry.items(config.benchmarks)
        index = BenchmarkIndex(bench, config)
        tables = [*config.tables, *(["traces"] if config.include_traces else [])]
        found: list[pl.DataFrame] = []
        counts = {"benchmark_items": bench.height}
        for table in dict.fromkeys(tables):
            if not run.has_table(table):
                continue
            id_col, default_fields = TABLE_FIELDS.get(table, ("item_id", ["text"]))
            fields = (config.fields or {}).get(table, default_fields)
            items = _table_items(store, table, fields, id_col, run.at)
            hits = find_contamination(items, index, config.batch_size)
            counts[f"{table}_checked"] = items["item_id"].n_unique()
            counts[f"{table}_contaminated"] = hits["item_id"].n_unique()
            found.append(hits.with_columns(pl.lit(table).alias("item_table")))
        for hits in found:
            run.insert(CONTAMINATION, hits, unique_on=CONTAMINATION_KEY)
        return run.count_all(counts)
