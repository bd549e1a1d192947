"""Catalog look-ups shared by the reading side (`Store`) and the writing side (`Run`).

Both hold the same DuckDB connection; these functions are the one place that knows how to ask
DuckLake which tables exist now or at a snapshot, and how to name a table at a snapshot.
"""

from __future__ import annotations

import duckdb

from store._connection import LAKE


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(f"FROM {LAKE}.current_snapshot()").fetchone()
    assert row is not None  # a table function always returns its one row
    return int(row[0])


def committed_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The snapshot this connection's last COMMIT made (on a shared catalog the current one
    may already be another writer's)."""
    row = con.execute(f"FROM {LAKE}.last_committed_snapshot()").fetchone()
    return int(row[0]) if row and row[0] is not None else current_snapshot(con)


def tables_now(con: duckdb.DuckDBPyConnection) -> list[str]:
    # duckdb_tables() also sees tables created by an open run's transaction
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [LAKE]
    ).fetchall()
    return sorted(r[0] for r in rows)


def tables_at(con: duckdb.DuckDBPyConnection, version: int) -> list[str]:
    # at a snapshot: DuckLake's own metadata says which tables existed then
    rows = con.execute(
        f"SELECT table_name FROM __ducklake_metadata_{LAKE}.ducklake_table "
        "WHERE begin_snapshot <= ? AND (end_snapshot IS NULL OR end_snapshot > ?)",
        [version, version],
    ).fetchall()
    return sorted(r[0] for r in rows)


def qualified(name: str, version: int | None = None) -> str:
    """SQL reference to table `name`, now (None) or at snapshot `version`."""
    base = f'{LAKE}."{name}"'
    return base if version is None else f"{base} AT (VERSION => {int(version)})"
