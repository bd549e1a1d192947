"""Table specs: the one place a table's columns, key and "current version" are written down.

A spec carries a version. The store records the version each table was created or last
upgraded at; a store written by a newer teachable (higher version) fails clearly instead of
being read with the wrong columns, and an older one is upgraded with the spec's `upgrades`.

The specs of the stages' tables live in `store.tables` (one module per owner), below every
package that reads them; this module holds the spec type and the store's own tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

# DuckDB column type -> the Polars type its rows are read and built with
POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
    "BOOLEAN": pl.Boolean(),
    "DOUBLE": pl.Float64(),
    "TIMESTAMP": pl.Datetime("us"),
}


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: dict[str, str]
    version: int = 1
    # version -> SQL statements that bring the table from version-1 to version ("{table}" is
    # replaced by the qualified name), e.g. {2: ["ALTER TABLE {table} ADD COLUMN note VARCHAR"]}
    upgrades: dict[int, list[str]] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    """What identifies a row: `run.insert` skips rows whose key is stored (empty: append all)."""
    current: tuple[str, ...] | None = None
    """`Store.latest`'s partition: the current version of the rows per these columns' values
    is every row of the latest run that wrote that version (None: rows are never superseded)."""
    id_column: str | None = None
    """An item table's id (seeds, questions, traces): what hits, verdicts and reviews point at."""
    text_columns: tuple[str, ...] = ()
    """An item table's text, as decontam, dedup and review read it."""

    def __post_init__(self) -> None:
        named = [*self.key, *(self.current or ()), *self.text_columns]
        if self.id_column:
            named.append(self.id_column)
        unknown = sorted({c for c in named if c not in self.columns})
        if unknown:
            raise ValueError(f"table spec '{self.name}' names undeclared columns {unknown}")

    def create_sql(self, qualified: str) -> str:
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in self.columns.items())
        return f"CREATE TABLE IF NOT EXISTS {qualified} ({cols})"

    def schema(self, columns: Iterable[str] | None = None) -> dict[str, pl.DataType]:
        """The Polars schema of the rows (of `columns` only, in that order, when given)."""
        names = list(self.columns) if columns is None else list(columns)
        return {name: POLARS_TYPES[self.columns[name]] for name in names}

    def empty(self, columns: Iterable[str] | None = None) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema(columns))

    @property
    def row_columns(self) -> list[str]:
        """The columns a stage fills (all but `run_id`, which `run.insert` fills)."""
        return [c for c in self.columns if c != "run_id"]


def table_name(table: TableSpec | str) -> str:
    return table if isinstance(table, str) else table.name


SCHEMA_VERSIONS = TableSpec(
    "schema_versions", {"table_name": "VARCHAR", "version": "INTEGER", "run_id": "VARCHAR"}
)

RUNS = TableSpec(
    "runs",
    {
        "run_id": "VARCHAR",
        "stage": "VARCHAR",
        "status": "VARCHAR",  # succeeded | failed
        "config": "VARCHAR",  # JSON, secrets redacted
        "teachable_version": "VARCHAR",
        "input_snapshot": "BIGINT",
        "counts": "VARCHAR",  # JSON {name: int}
        "error": "VARCHAR",
        "started_at": "TIMESTAMP",
        "ended_at": "TIMESTAMP",
        "duration_s": "DOUBLE",
        "host": "VARCHAR",
        "pid": "INTEGER",
    },
    key=("run_id",),
)

TAGS = TableSpec(
    "tags",
    {"tag": "VARCHAR", "snapshot_id": "BIGINT", "created_at": "TIMESTAMP", "note": "VARCHAR"},
    key=("tag",),
)

# A run that replaces the current version of a table for a key (`run.insert(..., replaces=)`)
# records it here, so a version with no rows (a selection or mixture that chose nothing, a
# dedup pass that found no duplicates) is still the current one (Store.latest_sql).
VERSIONS = TableSpec("versions", {"table_name": "VARCHAR", "key": "VARCHAR", "run_id": "VARCHAR"})

BUILTIN_TABLES = (SCHEMA_VERSIONS, RUNS, TAGS)
