"""Which items a push sends, read at one snapshot: ids first, everything a reviewer sees after.

An item is a row of `seeds`, `questions` or `traces`. Items are chosen from a named selection
(seeds), a mixture build (traces), a filter's verdicts (traces), contamination hits (any table),
or a difficulty band (seeds); a band also narrows any of the others, and a sample keeps `n` of
them in a seeded order. Only then is the context of the chosen few read (their prompt, seed,
proxy answer, bands, a trace, filter verdicts, contamination hits), with each query limited to
their ids. quality depends on store only, so curate's tables are read here by name, through
`Store.latest` ("the current version"); a table that does not exist at the snapshot reads as
empty and a column it lacks as NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from store import Store

ITEM_TABLES = ("seeds", "questions", "traces")
_ID = {"seeds": "seed_id", "questions": "question_id", "traces": "trace_id"}
_IDS_SCHEMA = {"item_table": pl.String, "item_id": pl.String}


def read(
    store: Store,
    at: int,
    table: str,
    columns: dict[str, pl.DataType | type[pl.DataType]],
    where: str = "",
    params: Sequence[Any] = (),
    latest: Sequence[str] | None = None,
) -> pl.DataFrame:
    """`columns` of `table` at `at` (rows matching `where`; with `latest`, only the rows of the
    latest run per that key): empty when the table does not exist, NULL for a missing column."""
    empty = pl.DataFrame(schema=columns)
    if not store.has_table(table, at):
        return empty
    ref = store.ref(table, at)
    have = set(store.sql(f"SELECT * FROM {ref} LIMIT 0").columns)
    rows = f"(SELECT * FROM {ref} WHERE {where or 'true'})"
    if latest is not None and "run_id" in have:
        rows = store.latest_sql(table, list(latest), at, source=rows)
    picked = ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in columns)
    frame = store.sql(f"SELECT {picked} FROM {rows} x", list(params))
    return frame.cast(dict(columns), strict=False) if frame.height else empty  # type: ignore[arg-type]


def in_ids(column: str) -> str:
    return f'"{column}" IN (SELECT unnest(?::VARCHAR[]))'


# ---- choosing ------------------------------------------------------------------------------


def from_selection(store: Store, at: int, name: str) -> pl.DataFrame:
    rows = read(
        store,
        at,
        "selections",
        {"name": pl.String, "seed_id": pl.String},
        "name = ?",
        [name],
        latest=["name"],
    )
    if rows.height == 0:
        raise ValueError(f"no selection named '{name}' in store {store.name} at snapshot {at}")
    return rows.select(pl.lit("seeds").alias("item_table"), pl.col("seed_id").alias("item_id"))


def from_mixture(store: Store, at: int, name: str) -> pl.DataFrame:
    """The traces of the mixture's latest build (or of the build with that run id)."""
    builds = read(
        store,
        at,
        "mixtures",
        {"name": pl.String, "run_id": pl.String},
        "name = ? OR run_id = ?",
        [name, name],
        latest=["name"],
    )
    if builds.height == 0:
        raise ValueError(f"no mixture '{name}' in store {store.name} at snapshot {at}")
    items = read(
        store,
        at,
        "mixture_items",
        {"trace_id": pl.String, "position": pl.Int64},
        "run_id = ?",
        [builds["run_id"][0]],
    )
    return items.sort("position").select(
        pl.lit("traces").alias("item_table"), pl.col("trace_id").alias("item_id")
    )


def from_filter(store: Store, at: int, name: str, passed: bool) -> pl.DataFrame:
    """Items whose current verdict of filter `name` ('*': any filter) is `passed`."""
    where, params = (
        ("passed = ?", [passed]) if name == "*" else ("passed = ? AND filter = ?", [passed, name])
    )
    rows = read(
        store,
        at,
        "verdicts",
        {"item_table": pl.String, "item_id": pl.String},
        where,
        params,
        latest=["item_table", "item_id", "filter"],
    )
    return rows.unique(maintain_order=True)


def from_contamination(store: Store, at: int) -> pl.DataFrame:
    rows = read(store, at, "contamination", {"item_table": pl.String, "item_id": pl.String})
    return rows.with_columns(pl.col("item_table").fill_null("seeds")).unique(maintain_order=True)


def every_seed(store: Store, at: int) -> pl.DataFrame:
    rows = read(store, at, "seeds", {"seed_id": pl.String})
    return rows.select(pl.lit("seeds").alias("item_table"), pl.col("seed_id").alias("item_id"))


def links(store: Store, at: int, items: pl.DataFrame) -> pl.DataFrame:
    """`items` with the prompt each one is about (prompt_table, prompt_id) and its seed_id."""
    traces = read(
        store,
        at,
        "traces",
        {"trace_id": pl.String, "item_id": pl.String, "item_table": pl.String},
        in_ids("trace_id"),
        [_ids(items, "traces")],
    )
    traces = traces.rename({"trace_id": "id", "item_id": "p_id", "item_table": "p_table"})
    linked = (
        items.join(traces, left_on="item_id", right_on="id", how="left")
        .with_columns(
            prompt_table=pl.when(pl.col("item_table") == "traces")
            .then(pl.col("p_table").fill_null("seeds"))
            .otherwise(pl.col("item_table")),
            prompt_id=pl.when(pl.col("item_table") == "traces").then("p_id").otherwise("item_id"),
        )
        .drop("p_id", "p_table")
    )
    questions = read(
        store,
        at,
        "questions",
        {"question_id": pl.String, "seed_id": pl.String},
        in_ids("question_id"),
        [_ids(linked, "questions", "prompt")],
    )
    questions = questions.unique("question_id")
    linked = linked.join(questions, left_on="prompt_id", right_on="question_id", how="left")
    return linked.with_columns(
        seed_id=pl.when(pl.col("prompt_table") == "seeds").then("prompt_id").otherwise("seed_id")
    )


def _ids(frame: pl.DataFrame, table: str, prefix: str = "item") -> list[str]:
    picked = frame.filter(pl.col(f"{prefix}_table") == table)[f"{prefix}_id"]
    return picked.drop_nulls().unique().to_list()


def seed_bands(store: Store, at: int, seed_ids: list[str]) -> pl.DataFrame:
    """The current difficulty row of each (seed, weak model): band, pass rate, samples, model."""
    return read(
        store,
        at,
        "difficulty",
        {
            "seed_id": pl.String,
            "model": pl.String,
            "model_name": pl.String,
            "band": pl.String,
            "pass_rate": pl.Float64,
            "correct": pl.Int64,
            "samples": pl.Int64,
        },
        in_ids("seed_id"),
        [seed_ids],
        latest=["seed_id", "model"],
    )


def in_bands(store: Store, at: int, items: pl.DataFrame, bands: list[str]) -> pl.DataFrame:
    """Items whose seed has a band in `bands` for every weak model measured (as `select`
    requires); seeds never measured have no band and drop out."""
    rows = seed_bands(store, at, items["seed_id"].drop_nulls().unique().to_list())
    ok = rows.group_by("seed_id").agg(pl.col("band").is_in(bands).all().alias("ok"))
    keep = ok.filter("ok")["seed_id"]
    return items.filter(pl.col("seed_id").is_in(keep.implode()))


def sample(items: pl.DataFrame, n: int | None, seed: int) -> pl.DataFrame:
    """`n` items in a seeded, stable order (md5 of seed:table:id, as mixtures sample), all
    of them when `n` is None; the order is the push order either way."""
    keyed = items.with_columns(
        _key=pl.concat_str(pl.lit(f"{seed}:"), "item_table", pl.lit(":"), "item_id").map_batches(
            lambda s: s.map_elements(_md5, return_dtype=pl.String)
        )
    )
    keyed = keyed.sort("_key")
    return (keyed.head(n) if n is not None else keyed).drop("_key")


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()


def no_items() -> pl.DataFrame:
    return pl.DataFrame(schema=_IDS_SCHEMA)
