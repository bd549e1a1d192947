"""The run journal of a PostgreSQL store, in the catalog's own database (table
`teachable_journal`), so every machine writing the store sees every attempt, failed and crashed
ones included. Same interface and columns as the folder store's SQLite journal (store.journal).
"""

from __future__ import annotations

import threading
from typing import Any

import polars as pl
import psycopg  # imported only for a PostgreSQL store (see store._postgres)

from store._postgres import JOURNAL_LOCK, PostgresLocation, advisory_lock
from store.journal import COLUMNS

TABLE = "teachable_journal"
# SQLite type -> PostgreSQL type of the same column
_TYPES = {
    "TEXT PRIMARY KEY": "TEXT PRIMARY KEY",
    "TEXT": "TEXT",
    "INTEGER": "BIGINT",
    "REAL": "DOUBLE PRECISION",
}
_TIMES = ("started_at", "ended_at")


def _pg_type(name: str, kind: str) -> str:
    return "TIMESTAMP" if name in _TIMES else _TYPES[kind]


class PostgresJournal:
    def __init__(self, location: PostgresLocation) -> None:
        self._location = location
        self._con: psycopg.Connection | None = None
        self._lock = threading.Lock()
        if set(COLUMNS) - self._columns():
            self._create()

    def _columns(self) -> set[str]:
        rows = self._execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND table_schema = current_schema()",
            [TABLE],
        ).fetchall()
        return {row[0] for row in rows}

    def _create(self) -> None:
        """Create the table, or add the columns an older teachable's journal lacks, under an
        advisory lock (two sessions racing on CREATE TABLE IF NOT EXISTS can both fail)."""
        assert self._con is not None
        with advisory_lock(self._con, JOURNAL_LOCK):
            columns = ", ".join(f"{n} {_pg_type(n, k)}" for n, k in COLUMNS.items())
            self._execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns})")
            for name, kind in COLUMNS.items():
                self._execute(
                    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {name} {_pg_type(name, kind)}"
                )
            self._execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_status ON {TABLE} (status)")

    def _execute(self, query: str, params: list[Any] | None = None) -> psycopg.Cursor[Any]:
        with self._lock:
            if self._con is None or self._con.closed:
                self._con = self._location.connect()
            try:
                return self._con.execute(query, params)
            except psycopg.OperationalError:  # a dropped session: reconnect once
                self._con.close()
                self._con = self._location.connect()
                return self._con.execute(query, params)

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def start(self, row: dict[str, object]) -> None:
        names = ", ".join(row)
        marks = ", ".join(["%s"] * len(row))
        self._execute(f"INSERT INTO {TABLE} ({names}) VALUES ({marks})", list(row.values()))

    def finish(self, run_id: str, **fields: object) -> None:
        assignments = ", ".join(f"{k} = %s" for k in fields)
        self._execute(
            f"UPDATE {TABLE} SET {assignments} WHERE run_id = %s", [*fields.values(), run_id]
        )

    def settle(self, run_id: str, **fields: object) -> bool:
        """Like `finish`, but only for a row still `running`; returns whether it changed."""
        assignments = ", ".join(f"{k} = %s" for k in fields)
        cursor = self._execute(
            f"UPDATE {TABLE} SET {assignments} WHERE run_id = %s AND status = 'running'",
            [*fields.values(), run_id],
        )
        return cursor.rowcount > 0

    def running(self) -> list[dict[str, Any]]:
        """Rows still marked `running` (cheap: the store asks on every open)."""
        cursor = self._execute(f"SELECT * FROM {TABLE} WHERE status = 'running'")
        names = [d.name for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def read(self) -> pl.DataFrame:
        cursor = self._execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY started_at")
        rows = cursor.fetchall()
        schema = {
            name: pl.Datetime("us")
            if name in _TIMES
            else pl.Int64
            if kind == "INTEGER"
            else pl.Float64
            if kind == "REAL"
            else pl.String
            for name, kind in COLUMNS.items()
        }
        return pl.DataFrame(rows, schema=schema, orient="row")
