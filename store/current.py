"""The current version of a table, and typed reads of a table's columns at a snapshot.

"The current version" of anything (a named selection, a seed's band, a dedup assignment, a
trace's verdict, a mixture) is one rule: per value of the table's `current` columns, every row
of the latest run that wrote that value, runs ordered by their start time. A run that replaced
a version with no rows (`run.insert(..., replaces=)`, recorded in `versions`) makes it empty:
a selection that picked nothing is the current selection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from store.schema import RUNS, VERSIONS, TableSpec, table_name

if TYPE_CHECKING:
    from store.core import Store


def latest_query(
    store: Store,
    table: TableSpec | str,
    key: str | Sequence[str] | None,
    version: int,
    source: str | None,
) -> str:
    name = table_name(table)
    if key is None and isinstance(table, TableSpec):
        key = list(table.current or ())
    rows = source or f"(SELECT * FROM {store.ref(name, version)})"
    keys = [key] if isinstance(key, str) else list(key or [])
    # `rows` once, as a CTE: a `source` may hold parameters
    writers = f"SELECT DISTINCT {_cols(keys, 'x', cast=True)}x.run_id FROM _rows x"
    if store.has_table(VERSIONS.name, version):
        extract = "".join(f"json_extract_string(v.key, {_json_path(k)}) AS {_q(k)}, " for k in keys)
        versions = f"(SELECT * FROM {store.ref(VERSIONS.name, version)}) v"
        writers += f" UNION SELECT {extract}v.run_id FROM {versions} WHERE v.table_name = '{name}'"
    partition = f"PARTITION BY {_cols(keys, 'w')[:-2]} " if keys else ""
    order = "w.run_id DESC NULLS LAST"
    runs = f"({writers}) w"
    if store.has_table(RUNS.name, version):
        order = f"r.started_at DESC NULLS LAST, {order}"
        runs += f" LEFT JOIN (SELECT run_id, started_at FROM {store.ref(RUNS.name, version)}) r"
        runs += " USING (run_id)"
    current = f"SELECT w.* FROM {runs} QUALIFY rank() OVER ({partition}ORDER BY {order}) = 1"
    match = "".join(f"c.{_q(k)} IS NOT DISTINCT FROM x.{_q(k)}::VARCHAR AND " for k in keys)
    return (
        f"(WITH _rows AS {rows} SELECT x.* FROM _rows x SEMI JOIN ({current}) c "
        f"ON {match}c.run_id IS NOT DISTINCT FROM x.run_id)"
    )


def has_version(store: Store, table: TableSpec, key: Mapping[str, object], at: int) -> bool:
    """Whether any run wrote a version of `table` for `key` (rows, or an empty replacement)."""
    if store.has_table(table.name, at):
        match = " AND ".join(f"{_q(k)}::VARCHAR = ?" for k in key)
        found = store.sql(
            f"SELECT 1 FROM {store.ref(table.name, at)} WHERE {match} LIMIT 1",
            [str(v) for v in key.values()],
        )
        if found.height:
            return True
    if not store.has_table(VERSIONS.name, at):
        return False
    text = version_key(key)
    found = store.sql(
        f"SELECT 1 FROM {store.ref(VERSIONS.name, at)} WHERE table_name = ? AND key = ? LIMIT 1",
        [table.name, text],
    )
    return found.height > 0


def version_key(key: Mapping[str, object]) -> str:
    """How `versions.key` writes a version's key: JSON of text values, keys sorted."""
    return json.dumps({k: None if v is None else str(v) for k, v in key.items()}, sort_keys=True)


def read_columns(
    store: Store,
    table: TableSpec,
    columns: Sequence[str] | None,
    at: int,
    where: str,
    params: Sequence[Any],
    current: bool,
) -> pl.DataFrame:
    names = list(table.columns) if columns is None else list(columns)
    empty = table.empty(names)
    if not store.has_table(table.name, at):
        return empty
    ref = store.ref(table.name, at)
    have = set(store.sql(f"SELECT * FROM {ref} LIMIT 0").columns)
    rows = f"(SELECT * FROM {ref} WHERE {where or 'true'})"
    if current and "run_id" in have:
        rows = store.latest_sql(table, at=at, source=rows)
    picked = ", ".join(_q(c) if c in have else f"NULL AS {_q(c)}" for c in names)
    frame = store.sql(f"SELECT {picked} FROM {rows} x", list(params))
    return frame.cast(empty.schema, strict=False) if frame.height else empty


def _cols(keys: Sequence[str], alias: str, cast: bool = False) -> str:
    """`alias."k1", alias."k2", ` (as text when `cast`: versions hold keys as text)."""
    if cast:
        return "".join(f"{alias}.{_q(k)}::VARCHAR AS {_q(k)}, " for k in keys)
    return "".join(f"{alias}.{_q(k)}, " for k in keys)


def _json_path(key: str) -> str:
    return "'$.\"" + key.replace("'", "''").replace('"', '\\"') + "\"'"


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
