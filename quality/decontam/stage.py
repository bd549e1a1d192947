"""Decontamination: corpus items against the benchmark registry, by exact n-grams, MinHash and
value signatures, each hit classified as copy, paraphrase, quote or sibling.

* n-gram: an item field is a candidate for a benchmark item when they share at least
  `min_matches` distinct word n-grams (n = 13 by default) after normalization, or when the field
  contains the whole word sequence of a benchmark item shorter than n words (>= `min_short`).
* MinHash: estimated Jaccard of word k-shingle sets >= `threshold` (LSH-banded, then verified):
  catches re-formatted and lightly paraphrased problems the n-gram check misses. It compares
  whole texts, so it is meant for prompt-sized items; a benchmark problem quoted inside a long
  trace is the n-gram check's job (Jaccard of a 60-word problem vs a 3,000-word trace is tiny).
* values: a prompt-sized item with exactly the values (numbers, variables, capitalised names)
  of a benchmark item and an estimated Jaccard >= `values_jaccard` (`quality.decontam.values`):
  catches short problems reworded past both checks above. Recorded only for pairs they missed.
* Kinds (`quality.decontam.kinds`): every candidate is aligned with its benchmark item and judged on
  the values in both texts (and the answers, where both are known); one that shares only
  boilerplate or a formula is dropped. Mixtures exclude copies, paraphrases and quotes, and keep
  siblings unless a recipe says otherwise.

The stage reads each table in batches (DuckDB -> Arrow) and keeps only the benchmark indexes
and the candidates' texts in memory. Every hit is one row of `contamination`, written at the
end; nothing is removed here. Reruns are idempotent: a hit is written again only when its kind
changed, and the latest row per hit is its current kind.
"""

from __future__ import annotations

import re

import polars as pl
from pydantic import Field, field_validator

from quality.benchmarks.registry import Registry
from quality.decontam.code import canonical_code
from quality.decontam.declare import DECONTAM_STAGE
from quality.decontam.index import BenchmarkIndex, scan
from quality.decontam.kinds import EXCLUDED_BY_DEFAULT, KINDS, KindRules, classify_all
from quality.kernels.parallel import cores
from store import StageConfig, Store, TableSpec
from store.errors import InputError
from store.run import Run
from store.stream import record_batches
from store.tables import CONTAMINATION, PROMPT_TABLES, PROXY_ANSWERS, SEEDS, TRACES, item_spec

__all__ = ["BenchmarkIndex", "DecontamConfig", "find_contamination", "run_decontam"]


_CURRENT = list(CONTAMINATION.current or ())
# a hit as the kernels find it: the contamination row less the item table and run
HIT_COLUMNS = [c for c in CONTAMINATION.row_columns if c != "item_table"]


class DecontamConfig(StageConfig):
    registry: str | None = None
    """Registry YAML; default $TEACHABLE_BENCHMARKS or the shipped one."""
    benchmarks: list[str] | None = None
    """Benchmarks to check against (repeatable); default the registry's default set (entries
    without `default: false`)."""
    tables: list[str] = Field(default_factory=lambda: list(PROMPT_TABLES))
    """Item tables to check (seeds, questions, traces); traces also with include_traces."""
    include_traces: bool = False
    """Also check traces (reasoning, answer)."""
    fields: dict[str, list[str]] | None = None
    """Override the checked fields per table, e.g. {"seeds": ["problem"]}."""

    @field_validator("tables")
    @classmethod
    def _item_tables(cls, tables: list[str]) -> list[str]:
        if not tables:
            raise ValueError("name at least one item table (an empty list checks nothing)")
        for name in tables:
            item_spec(name)  # a typo is an error, never a check of nothing
        return tables

    @field_validator("fields")
    @classmethod
    def _field_tables(cls, fields: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for name, columns in (fields or {}).items():
            item_spec(name)
            if not columns or any(not c.strip() for c in columns):
                raise ValueError(f"{name}: name the columns to check (got {columns})")
        return fields

    @field_validator("strip")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from None
        return patterns

    n: int = Field(13, ge=3)
    """Words per n-gram."""
    min_matches: int = Field(1, ge=1)
    """Shared n-grams that make a candidate."""
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
    num_perm: int = Field(128, ge=16, le=4096)
    """MinHash permutations (16..4096: fewer make the Jaccard estimate noise)."""
    shingle: int = Field(3, ge=1, le=32)
    """Words per MinHash shingle: short, so light paraphrases keep most shingles."""
    seed: int = Field(1, ge=0, lt=2**32)
    """MinHash seed (datasketch's permutations)."""
    values: bool = True
    """Also match prompt-sized items whose values (numbers, variables, capitalised names) are
    exactly a benchmark item's and whose MinHash Jaccard is at least values_jaccard: catches
    paraphrases reworded past the n-gram and MinHash checks."""
    values_jaccard: float = Field(0.2, ge=0, le=1)
    """Least estimated Jaccard for a same-values candidate (far below `threshold`)."""
    min_coverage: float = Field(0.5, ge=0, le=1)
    """Share of a benchmark item's words an item must align with for a candidate to be a hit;
    below it the two share only boilerplate or a formula."""
    batch_size: int = Field(200_000, ge=1)
    """Rows read and probed per batch."""
    batch_mb: int = Field(16, ge=1)
    """Megabytes of text per batch at most (long traces make a few thousand rows heavy); the
    stage's memory beyond the indexes is about ten times this."""
    workers: int | None = Field(None, ge=1)
    """Threads probing batches side by side; default every core this process may use."""
    code: bool = True
    """Also compare prompt tables against code benchmarks (registry `code: true`) as programs
    with identifiers renamed canonically (quality.decontam.code): catches renamed copies."""
    code_coverage: float = Field(0.8, ge=0, le=1)
    """Code: a candidate aligned with at least this share of a benchmark program's canonical
    tokens is a paraphrase (a renamed copy) even where the value rule calls it a sibling:
    canonical names (v0, v1, ...) are positions, not values."""


def _workers(config: DecontamConfig) -> int:
    return config.workers or cores()


def classify_candidates(
    candidates: pl.DataFrame, index: BenchmarkIndex, answers: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Hits (HIT_COLUMNS) from candidates (bench_index.CANDIDATE_SCHEMA): each (item, field,
    benchmark item) judged once; candidates that are no hit dropped. `answers`: item_id, answer."""
    bench = index.bench.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("bench_row"),
        "benchmark",
        pl.col("item_id").alias("benchmark_item_id"),
        pl.col("text").alias("bench_text"),
        pl.col("answer").alias("bench_answer"),
    )
    key = ["item_id", "field", "bench_row"]
    pairs = candidates.unique(key, keep="first").select(*key, "text").join(bench, on="bench_row")
    if answers is not None and answers.height:
        pairs = pairs.join(answers.unique("item_id"), on="item_id", how="left")
    else:
        pairs = pairs.with_columns(answer=pl.lit(None, pl.String))
    verdicts = classify_all(
        index.clean(pairs["text"].fill_null("")).to_list(),
        index.clean(pairs["bench_text"].fill_null("")).to_list(),
        pairs["answer"].to_list(),
        pairs["bench_answer"].to_list(),
        KindRules(min_coverage=index.config.min_coverage),
    )
    judged = pairs.select(*key, "benchmark", "benchmark_item_id").with_columns(
        kind=pl.Series([v.kind for v in verdicts], dtype=pl.String),
        coverage=pl.Series([round(v.coverage, 4) for v in verdicts], dtype=pl.Float64),
        evidence=pl.Series([v.evidence for v in verdicts], dtype=pl.String),
    )
    return (
        candidates.join(judged.filter(pl.col("kind").is_not_null()), on=key)
        .select(HIT_COLUMNS)
        .cast(pl.Schema(CONTAMINATION.schema(HIT_COLUMNS)))
        .sort("item_id", "field", "benchmark", "benchmark_item_id", "method")
    )


def find_contamination(
    items: pl.DataFrame, index: BenchmarkIndex, batch_size: int = 200_000, workers: int = 1
) -> pl.DataFrame:
    """Hits of in-memory `items` (item_id, field, text, and optionally answer), HIT_COLUMNS."""
    candidates = scan(items.iter_slices(batch_size), index, workers)
    answers = items.select("item_id", "answer") if "answer" in items.columns else None
    return classify_candidates(candidates, index, answers)


def _items_query(run: Run, table: TableSpec, fields: list[str]) -> str:
    """(item_id, field, text) of every non-null field, at the run's snapshot."""
    ref, id_col = run.ref(table), table.id_column
    columns = run.sql(f"SELECT * FROM {ref} LIMIT 0").columns
    missing = [c for c in [id_col, *fields] if c not in columns]
    if missing:
        raise InputError(f"table '{table.name}' has no column(s) {missing}")
    return " UNION ALL ".join(
        f'SELECT "{id_col}"::VARCHAR AS item_id, \'{f}\' AS field, "{f}"::VARCHAR AS text '
        f'FROM {ref} WHERE "{f}" IS NOT NULL'
        for f in fields
    )


def _item_answers(store: Store, run: Run, table: TableSpec, ids: list[str]) -> pl.DataFrame:
    """Known answers of the candidate items: the table's own `answer`, and for seeds without
    one their latest proxy answer (reference or strong-model majority)."""
    frames = []
    ref, id_col = run.ref(table), table.id_column
    if ids and "answer" in run.sql(f"SELECT * FROM {ref} LIMIT 0").columns:
        frames.append(
            run.sql(
                f'SELECT "{id_col}"::VARCHAR AS item_id, answer::VARCHAR AS answer FROM {ref} '
                f'WHERE answer IS NOT NULL AND "{id_col}" IN (SELECT unnest(?::VARCHAR[]))',
                [ids],
            )
        )
    if ids and table is SEEDS and run.has_table(PROXY_ANSWERS):
        proxy = store.latest(
            PROXY_ANSWERS,
            at=run.at,
            where="answer IS NOT NULL AND list_contains(?::VARCHAR[], seed_id)",
            params=[ids],
        )
        frames.append(proxy.select(pl.col("seed_id").alias("item_id"), "answer"))
    if not frames:
        return pl.DataFrame(schema={"item_id": pl.String, "answer": pl.String})
    return pl.concat(frames).unique("item_id", keep="first", maintain_order=True)


def _check_table(
    store: Store, run: Run, spec: TableSpec, index: BenchmarkIndex, config: DecontamConfig
) -> tuple[pl.DataFrame, dict[str, int]]:
    table = spec.name
    fields = (config.fields or {}).get(table, list(spec.text_columns))
    query = _items_query(run, spec, fields)
    batches = record_batches(store, query, rows=config.batch_size, max_bytes=config.batch_mb << 20)
    candidates = scan(batches, index, _workers(config))
    answers = _item_answers(store, run, spec, candidates["item_id"].unique().to_list())
    hits = classify_candidates(candidates, index, answers)
    checked = run.sql(f'SELECT count(DISTINCT "{spec.id_column}") AS n FROM {run.ref(spec)}')["n"][
        0
    ]
    leaks = hits.filter(pl.col("kind").is_in(EXCLUDED_BY_DEFAULT))["item_id"].n_unique()
    counts = {f"{table}_checked": int(checked), f"{table}_contaminated": leaks}
    for kind in KINDS:
        counts[f"{table}_{kind}"] = hits.filter(kind=kind)["item_id"].n_unique()
    return hits.with_columns(item_table=pl.lit(table)), counts


def _changed(store: Store, run: Run, hits: pl.DataFrame) -> pl.DataFrame:
    """Hits not yet recorded with this kind as their current one."""
    if not run.has_table(CONTAMINATION.name) or hits.height == 0:
        return hits
    current = store.latest(CONTAMINATION, at=run.at)
    if "kind" not in current.columns:  # a version-1 table: no hit has a kind yet
        current = current.with_columns(kind=pl.lit(None, pl.String))
    current = current.select(*_CURRENT, pl.col("kind").alias("_current"))
    joined = hits.join(current, on=_CURRENT, how="left", nulls_equal=True)
    return joined.filter(pl.col("_current").is_null() | (pl.col("_current") != pl.col("kind")))


def _code_hits(
    store: Store,
    run: Run,
    bench: pl.DataFrame,
    registry: Registry,
    config: DecontamConfig,
    counts: dict[str, int],
) -> list[pl.DataFrame]:
    """Hits of the prompt tables' code against the code benchmarks, both sides canonical
    (method `code_ngram`, `code_minhash`, ...). Prompt-sized tables only: a trace's program is
    the model's, checked by its prose against the benchmark's statement."""
    code_names = [name for name in bench["benchmark"].unique() if registry.specs[name].code]
    if not code_names:
        return []
    canonical = bench.filter(pl.col("benchmark").is_in(code_names)).with_columns(
        pl.col("text").map_elements(canonical_code, return_dtype=pl.String)
    )
    index = BenchmarkIndex(canonical.filter(pl.col("text").is_not_null()), config)
    found = []
    for table in dict.fromkeys(config.tables):
        if table == TRACES.name or not run.has_table(table):
            continue
        spec = item_spec(table)
        fields = (config.fields or {}).get(table, list(spec.text_columns))
        items = run.sql(_items_query(run, spec, fields)).with_columns(
            pl.col("text").map_elements(canonical_code, return_dtype=pl.String)
        )
        hits = find_contamination(items.filter(pl.col("text").is_not_null()), index)
        renamed = (pl.col("kind") == "sibling") & (pl.col("coverage") >= config.code_coverage)
        hits = hits.with_columns(
            ("code_" + pl.col("method")).alias("method"),
            pl.when(renamed).then(pl.lit("paraphrase")).otherwise(pl.col("kind")).alias("kind"),
            pl.when(renamed)
            .then(pl.lit("code with identifiers renamed: ") + pl.col("evidence").fill_null(""))
            .otherwise(pl.col("evidence"))
            .alias("evidence"),
        )
        counts[f"{table}_code_contaminated"] = hits.filter(
            pl.col("kind").is_in(EXCLUDED_BY_DEFAULT)
        )["item_id"].n_unique()
        found.append(hits.with_columns(item_table=pl.lit(table)))
    return found


def run_decontam(store: Store, config: DecontamConfig) -> dict[str, int]:
    with store.run(DECONTAM_STAGE, config) as run:
        registry = Registry.load(config.registry)
        bench = registry.items(config.benchmarks)
        index = BenchmarkIndex(bench, config)
        tables = [*config.tables, *([TRACES.name] if config.include_traces else [])]
        found: list[pl.DataFrame] = []
        counts = {"benchmark_items": bench.height}
        for table in dict.fromkeys(tables):
            if run.has_table(table):
                hits, table_counts = _check_table(store, run, item_spec(table), index, config)
                found.append(hits)
                counts |= table_counts
        if config.code:
            found += _code_hits(store, run, bench, registry, config, counts)
        hits = pl.concat(found, how="diagonal_relaxed") if found else CONTAMINATION.empty()
        new = _changed(store, run, hits).unique(list(CONTAMINATION.key), maintain_order=True)
        # the writer lock is taken here, for the write alone
        run.insert(
            CONTAMINATION, new.select([c for c in new.columns if c in CONTAMINATION.columns])
        )
        return run.count_all(counts)
