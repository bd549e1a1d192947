"""Which items a push sends, read at one snapshot: ids first, everything a reviewer sees after.

An item is a row of `seeds`, `questions` or `traces`. Items are chosen from a named selection
(seeds), a mixture build (traces), a filter's verdicts (traces), contamination hits (any table),
or a difficulty band (seeds); a band also narrows any of the others, and a sample keeps `n` of
them in a seeded order. Only then is the context of the chosen few read (their prompt, seed,
proxy answer, bands, a trace, filter verdicts, contamination hits), with each query limited to
their ids, with `Store.read` (typed by the table's spec, the current version where a table has
versions); a table that does not exist at the snapshot reads as empty and a column it lacks as
NULL.
"""

from __future__ import annotations

import polars as pl

from store import Store, TableSpec
from store.errors import InputError
from store.tables import (
    CONTAMINATION,
    DIFFICULTY,
    MIXTURE_ITEMS,
    MIXTURES,
    QUESTIONS,
    SEEDS,
    SELECTIONS,
    TRACES,
    VERDICTS,
)

_IDS_SCHEMA = {"item_table": pl.String, "item_id": pl.String}


def in_ids(column: str) -> str:
    return f'"{column}" IN (SELECT unnest(?::VARCHAR[]))'


# ---- choosing ------------------------------------------------------------------------------


def from_selection(store: Store, at: int, name: str) -> pl.DataFrame:
    rows = store.read(
        SELECTIONS, ["name", "seed_id"], at=at, where="name = ?", params=[name], current=True
    )
    if rows.height == 0:
        raise InputError(f"no selection named '{name}' in store {store.name} at snapshot {at}")
    return _as_items(rows, SEEDS)


def from_mixture(store: Store, at: int, name: str) -> pl.DataFrame:
    """The traces of the mixture's latest build (or of the build with that run id)."""
    builds = store.read(
        MIXTURES, ["name", "run_id"], at=at, where="name = ? OR run_id = ?", params=[name, name],
        current=True,
    )  # fmt: skip
    if builds.height == 0:
        raise InputError(f"no mixture '{name}' in store {store.name} at snapshot {at}")
    items = store.read(
        MIXTURE_ITEMS, ["trace_id", "position"], at=at, where="run_id = ?",
        params=[builds["run_id"][0]],
    )  # fmt: skip
    return _as_items(items.sort("position"), TRACES)


def from_filter(store: Store, at: int, name: str, passed: bool) -> pl.DataFrame:
    """Items whose current verdict of filter `name` ('*': any filter) is `passed`."""
    where, params = (
        ("passed = ?", [passed]) if name == "*" else ("passed = ? AND filter = ?", [passed, name])
    )
    rows = store.read(
        VERDICTS, ["item_table", "item_id"], at=at, where=where, params=params, current=True
    )
    return rows.unique(maintain_order=True)


def from_contamination(store: Store, at: int) -> pl.DataFrame:
    rows = store.read(CONTAMINATION, ["item_table", "item_id"], at=at)
    return rows.with_columns(pl.col("item_table").fill_null(SEEDS.name)).unique(maintain_order=True)


def every_seed(store: Store, at: int) -> pl.DataFrame:
    return _as_items(store.read(SEEDS, ["seed_id"], at=at), SEEDS)


def _as_items(rows: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """(item_table, item_id) of rows of item table `spec` (their id column)."""
    assert spec.id_column is not None
    return rows.select(
        pl.lit(spec.name).alias("item_table"), pl.col(spec.id_column).alias("item_id")
    )


def links(store: Store, at: int, items: pl.DataFrame) -> pl.DataFrame:
    """`items` with the prompt each one is about (prompt_table, prompt_id) and its seed_id."""
    traces = store.read(
        TRACES, ["trace_id", "item_id", "item_table"], at=at, where=in_ids("trace_id"),
        params=[_ids(items, TRACES.name)],
    )  # fmt: skip
    traces = traces.rename({"trace_id": "id", "item_id": "p_id", "item_table": "p_table"})
    linked = (
        items.join(traces, left_on="item_id", right_on="id", how="left")
        .with_columns(
            prompt_table=pl.when(pl.col("item_table") == TRACES.name)
            .then(pl.col("p_table").fill_null(SEEDS.name))
            .otherwise(pl.col("item_table")),
            prompt_id=pl.when(pl.col("item_table") == TRACES.name)
            .then("p_id")
            .otherwise("item_id"),
        )
        .drop("p_id", "p_table")
    )
    questions = store.read(
        QUESTIONS, ["question_id", "seed_id"], at=at, where=in_ids("question_id"),
        params=[_ids(linked, QUESTIONS.name, "prompt")],
    )  # fmt: skip
    questions = questions.unique("question_id")
    linked = linked.join(questions, left_on="prompt_id", right_on="question_id", how="left")
    return linked.with_columns(
        seed_id=pl.when(pl.col("prompt_table") == SEEDS.name).then("prompt_id").otherwise("seed_id")
    )


def _ids(frame: pl.DataFrame, table: str, prefix: str = "item") -> list[str]:
    picked = frame.filter(pl.col(f"{prefix}_table") == table)[f"{prefix}_id"]
    return picked.drop_nulls().unique().to_list()


def seed_bands(store: Store, at: int, seed_ids: list[str]) -> pl.DataFrame:
    """The current difficulty row of each (seed, weak model): band, pass rate, samples, model."""
    columns = ["seed_id", "model", "model_name", "band", "pass_rate", "correct", "samples"]
    return store.read(
        DIFFICULTY, columns, at=at, where=in_ids("seed_id"), params=[seed_ids], current=True
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
