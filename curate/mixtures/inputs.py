"""Reading the tables a mixture draws on, all at one snapshot.

Each table is read with only the columns needed; a table that does not exist at the snapshot
reads as no rows (a store without quality marks simply excludes nothing for that reason).
"""

from __future__ import annotations

import polars as pl

from curate.teachability.select import selection_rows
from quality.review.resolve import ReviewRule, resolved
from store import Store, TableSpec
from store.errors import InputError
from store.tables import (
    CONTAMINATION,
    DIFFICULTY,
    NEAR_DUPS,
    QUESTIONS,
    REVIEWS,
    RUNS,
    SEEDS,
    SELECTIONS,
    TRACES,
    VERDICTS,
)

# table -> the columns a mixture reads of it; the specs own names and types
READS: dict[str, tuple[str, ...]] = {
    TRACES.name: ("trace_id", "item_id", "item_table", "teacher_model", "correct", "reasoning",
                  "answer_text", "finish_reason", "run_id"),
    SEEDS.name: ("seed_id", "source", "domain", "level", "problem", "answer", "answer_type",
                 "tests", "run_id"),
    QUESTIONS.name: ("question_id", "seed_id", "question", "answer", "answer_type", "status",
                     "tests", "run_id"),
    DIFFICULTY.name: ("seed_id", "model", "model_name", "band", "run_id"),
    SELECTIONS.name: ("name", "seed_id", "run_id"),
    CONTAMINATION.name: ("item_id", "item_table", "field", "benchmark", "benchmark_item_id",
                         "method", "kind", "run_id"),
    NEAR_DUPS.name: ("item_id", "item_table", "is_representative", "run_id"),
    VERDICTS.name: ("item_id", "item_table", "filter", "passed", "run_id"),
    RUNS.name: ("run_id", "started_at"),
    REVIEWS.name: ("item_id", "verdict", "run_id"),
}  # fmt: skip
MARK_TABLES = (CONTAMINATION, NEAR_DUPS, VERDICTS, REVIEWS)
# columns read as NULL when a table lacks them (other stages may not write them)
OPTIONAL = {"run_id", "item_table", "model_name", "answer_type", "kind", "tests"}


# (store root, table, snapshot) -> (SQL ref, columns) of the table then, or None when it did
# not exist; a snapshot never changes, so this is safe to keep for the life of the process
_SCHEMAS: dict[tuple[str, str, int], tuple[str, list[str]] | None] = {}


def _table_at(store: Store, name: str, at: int) -> tuple[str, list[str]] | None:
    key = (str(store.root), name, at)
    if key not in _SCHEMAS:
        _SCHEMAS[key] = None
        if store.has_table(name, at):
            ref = store.ref(name, at)
            _SCHEMAS[key] = (ref, store.sql(f"SELECT * FROM {ref} LIMIT 0").columns)
    return _SCHEMAS[key]


def source(store: Store, spec: TableSpec, at: int) -> str:
    """A parenthesised SELECT of the table's needed columns at `at`, or an empty stand-in."""
    name = spec.name
    columns = {col: spec.columns[col] for col in READS[name]}
    found = _table_at(store, name, at)
    if found is None:
        nulls = ", ".join(f'NULL::{kind} AS "{col}"' for col, kind in columns.items())
        return f"(SELECT {nulls} WHERE false)"
    ref, have = found
    picked = []
    for col, kind in columns.items():
        if col in have:
            picked.append(f'"{col}"')
        elif col in OPTIONAL:
            picked.append(f'NULL::{kind} AS "{col}"')
        else:
            raise InputError(
                f"table '{name}' at snapshot {at} has no column '{col}' (it has {sorted(have)})"
            )
    return f"(SELECT {', '.join(picked)} FROM {ref})"


def latest(
    store: Store, spec: TableSpec, at: int, where: str = "", key: list[str] | None = None
) -> str:
    """The needed columns of the table's rows (matching an SQL condition `where`) from the
    latest run per `key` (default the spec's; Store.latest_sql: a re-run — new dedup
    assignment, re-filtered trace, re-estimated band — supersedes the rows of earlier runs)."""
    rows = source(store, spec, at)
    if where:
        rows = f"(SELECT * FROM {rows} WHERE {where})"
    if _table_at(store, spec.name, at) is None:
        return rows
    return store.latest_sql(spec, key, at, source=rows)


def band_source(store: Store, at: int, model: str | None) -> tuple[str, list[object]]:
    """One band per seed from its latest difficulty run (of `model`, by hash or name, if given);
    ties (several models or settings in one run) go to the lowest model id."""
    params: list[object]
    where, params = ("model = ? OR model_name = ?", [model, model]) if model else ("", [])
    query = (
        f"(SELECT seed_id, band, run_id FROM {latest(store, DIFFICULTY, at, where, ['seed_id'])} "
        f"QUALIFY row_number() OVER (PARTITION BY seed_id ORDER BY model) = 1)"
    )
    return query, params


def candidates(store: Store, at: int, seed: int, difficulty_model: str | None) -> pl.DataFrame:
    """Every trace at `at` with its prompt's seed, attributes and a sampling key.

    `key` is md5(seed:trace_id): a stable, seeded pseudo-random order (MD5 is a fixed function,
    unlike engine hash functions that may change between versions)."""
    bands, band_params = band_source(store, at, difficulty_model)
    question, seeds = QUESTIONS.name, SEEDS.name
    query = f"""
        WITH t AS {source(store, TRACES, at)},
             q AS {source(store, QUESTIONS, at)},
             s AS {source(store, SEEDS, at)},
             d AS {bands},
             tq AS (
               SELECT t.*, q.status AS question_status, q.run_id AS question_run,
                      CASE WHEN t.item_table = '{question}' THEN q.seed_id ELSE t.item_id END
                        AS seed_id,
                      CASE WHEN t.item_table = '{question}' THEN t.item_id END AS question_id
               FROM t LEFT JOIN q
                 ON t.item_table = '{question}' AND q.question_id = t.item_id)
        SELECT tq.trace_id, tq.item_id,
               CASE WHEN tq.item_table = '{question}' THEN '{question}' ELSE '{seeds}' END
                 AS item_table,
               tq.seed_id, tq.question_id, tq.question_status, tq.teacher_model, tq.correct,
               coalesce(length(tq.reasoning), 0) > 0 AS has_reasoning, tq.finish_reason,
               s.seed_id IS NOT NULL AS has_seed, s.source, s.domain, s.level, d.band,
               tq.run_id AS trace_run, tq.question_run, s.run_id AS seed_run,
               d.run_id AS difficulty_run,
               md5(? || ':' || tq.trace_id) AS key
        FROM tq LEFT JOIN s ON s.seed_id = tq.seed_id LEFT JOIN d ON d.seed_id = tq.seed_id
    """
    return store.sql(query, [*band_params, str(seed)])


def marks(store: Store, at: int, review_rule: ReviewRule = "majority") -> pl.DataFrame:
    """Ids that may be excluded, with the reason (and benchmark and hit kind for contamination:
    whether a kind excludes is the recipe's call). Contamination hits count with their current
    kind (the latest decontam run per hit); near-dup assignments and filter verdicts from their
    latest run (a dedup run is a full assignment, so the latest one per item table wins); a review
    counts when the item's verdict resolves to reject under `review_rule`
    (quality.review.resolve)."""
    query = f"""
        SELECT item_id, 'contaminated' AS reason, benchmark, kind
          FROM {latest(store, CONTAMINATION, at)}
        UNION ALL SELECT item_id, 'near_duplicate', NULL, NULL
          FROM {latest(store, NEAR_DUPS, at)}
          WHERE NOT coalesce(is_representative, false)
        UNION ALL SELECT item_id, 'failed_filter', NULL, NULL
          FROM {latest(store, VERDICTS, at)}
          WHERE passed = false
    """
    rejected = resolved(store, at, review_rule).filter(pl.col("verdict") == "reject")
    reviewed = rejected.select(
        "item_id",
        reason=pl.lit("rejected_in_review"),
        benchmark=pl.lit(None, pl.String),
        kind=pl.lit(None, pl.String),
    )
    return pl.concat([store.sql(query), reviewed], how="vertical_relaxed")


def selection_seeds(store: Store, at: int, name: str) -> pl.Series:
    """Seed ids of the current version of selection `name` (none when it does not exist: the
    part then reports 0 available)."""
    try:
        return selection_rows(store, name, at)["seed_id"].unique()
    except ValueError:
        return pl.Series("seed_id", [], dtype=pl.String)


def mark_runs(store: Store, at: int) -> dict[str, list[str]]:
    """Run ids of the quality marks in force at `at` (their tables' run_id, where they have one)."""
    runs: dict[str, list[str]] = {}
    for spec in (*MARK_TABLES, DIFFICULTY, SELECTIONS):
        if "run_id" not in READS[spec.name] or _table_at(store, spec.name, at) is None:
            continue
        query = f"SELECT DISTINCT run_id FROM {source(store, spec, at)} WHERE run_id IS NOT NULL"
        runs[spec.name] = sorted(store.sql(query)["run_id"].to_list())
    return runs
