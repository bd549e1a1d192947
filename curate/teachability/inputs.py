"""Reading the inputs of the teachability stages at one pinned snapshot."""

from __future__ import annotations

import polars as pl

from store import Store
from store.sql import bind_condition, user_sql_errors
from store.tables import PROXY_ANSWERS, RUNS, SEEDS

SEED_COLUMNS = "seed_id, source, domain, problem, answer, answer_type, level"
_TESTS = "tests"  # code seeds' tests; a store from before code seeds has no such column
_untested = (pl.col("answer_type") == "code") & pl.col(_TESTS).is_null()


def load_seeds(
    store: Store, at: int, where: str | None = None, limit: int | None = None
) -> pl.DataFrame:
    """Seeds at snapshot `at`, filtered by a user SQL condition (one checked expression, see
    store.sql), in seed_id order."""
    ref = store.ref(SEEDS, at=at)
    cond = f"WHERE {bind_condition(store, ref, where)}" if where else ""
    cap = f"LIMIT {int(limit)}" if limit else ""
    has_tests = _TESTS in store.sql(f"SELECT * FROM {ref} LIMIT 0").columns
    tests = _TESTS if has_tests else f"NULL::VARCHAR AS {_TESTS}"
    with user_sql_errors(where):
        return store.sql(f"SELECT {SEED_COLUMNS}, {tests} FROM {ref} {cond} ORDER BY seed_id {cap}")


def proxy_view(store: Store, at: int) -> pl.DataFrame:
    """One proxy answer per seed: its reference answer, else its best majority vote; seeds
    with only unverifiable votes appear with a null answer. Without a proxy_answers table,
    the seeds' own reference answers."""
    if not store.has_table(PROXY_ANSWERS.name, at):
        return store.sql(
            f"SELECT seed_id, answer, answer_type, 'reference' AS method "
            f"FROM {store.ref(SEEDS, at=at)} WHERE answer IS NOT NULL AND answer <> ''"
        )
    # ties between strong models' votes go to the one from the latest run (by start time)
    return store.sql(
        f"""SELECT p.seed_id, p.answer, p.answer_type, p.method
        FROM (SELECT * FROM {store.ref(PROXY_ANSWERS.name, at=at)}) p
        LEFT JOIN (SELECT run_id, started_at FROM {store.ref(RUNS, at=at)}) r USING (run_id)
        QUALIFY row_number() OVER (
            PARTITION BY p.seed_id
            ORDER BY p.method = 'reference' DESC, p.answer IS NOT NULL DESC, p.agreement DESC,
                     r.started_at DESC NULLS LAST, p.run_id DESC
        ) = 1"""
    )


def with_proxy(store: Store, at: int, seeds: pl.DataFrame) -> pl.DataFrame:
    """Seeds joined to their proxy answer: adds proxy_answer, proxy_type, proxy_method."""
    view = proxy_view(store, at).rename(
        {"answer": "proxy_answer", "answer_type": "proxy_type", "method": "proxy_method"}
    )
    joined = seeds.join(view, on="seed_id", how="left")
    # a seed's own reference answer wins even if the proxy stage never ran on it
    return joined.with_columns(
        pl.coalesce(pl.col("answer"), pl.col("proxy_answer")).alias("proxy_answer"),
        pl.coalesce(
            pl.when(pl.col("answer").is_not_null()).then(pl.col("answer_type")),
            pl.col("proxy_type"),
        ).alias("proxy_type"),
        pl.when(pl.col("answer").is_not_null() & _untested)
        .then(pl.lit("untested"))  # a code seed's reference never run against tests
        .when(pl.col("answer").is_not_null())
        .then(pl.lit("reference"))
        .otherwise(pl.col("proxy_method"))
        .alias("proxy_method"),
    )
