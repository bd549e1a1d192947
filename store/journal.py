"""The run journal: every attempt at a run, including failed and crashed ones.

Succeeded runs are also recorded in the DuckLake `runs` table, atomically with their data. A
failed run must leave the lake at its previous snapshot, so its record goes here instead, in a
small SQLite file beside the catalog (a PostgreSQL store: a table in the catalog's database,
store._journal_pg, with the same interface). A run is journaled as `running` before it does
any work, with its host, pid and process identity; the store settles a `running` row whose
process is gone (see `Store.reconcile`) as `crashed`, or as `succeeded` when its commit reached
the lake.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

JOURNAL_FILE = "journal.sqlite"
# column -> SQLite type; a journal written by an older teachable gains the missing columns
COLUMNS = {
    "run_id": "TEXT PRIMARY KEY",
    "stage": "TEXT",
    "status": "TEXT",  # running | succeeded | failed | crashed
    "config": "TEXT",
    "teachable_version": "TEXT",
    "input_snapshot": "INTEGER",
    "output_snapshot": "INTEGER",
    "counts": "TEXT",
    "error": "TEXT",
    "started_at": "TEXT",
    "ended_at": "TEXT",
    "duration_s": "REAL",
    "host": "TEXT",
    "pid": "INTEGER",
    "process": "TEXT",  # the pid's start identity (store._process.identity): no pid-reuse mix-up
}


def _sql_value(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _add_column(con: sqlite3.Connection, name: str, kind: str) -> None:
    try:
        con.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):  # another process upgraded it just now
            raise


class Journal:
    def __init__(self, path: Path) -> None:
        self._path = path
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
            con.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")
            have = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
            for name, kind in COLUMNS.items():
                if name not in have:
                    _add_column(con, name, kind)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30)

    def close(self) -> None:
        """Nothing to close: every call opens its own SQLite connection."""

    def start(self, row: dict[str, object]) -> None:
        with self._connect() as con:
            con.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                [_sql_value(v) for v in row.values()],
            )

    def finish(self, run_id: str, **fields: object) -> None:
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as con:
            con.execute(
                f"UPDATE runs SET {assignments} WHERE run_id = ?",
                [*(_sql_value(v) for v in fields.values()), run_id],
            )

    def settle(self, run_id: str, **fields: object) -> bool:
        """Like `finish`, but only for a row still `running` (a run that finished meanwhile
        keeps its own record); returns whether the row changed."""
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as con:
            cursor = con.execute(
                f"UPDATE runs SET {assignments} WHERE run_id = ? AND status = 'running'",
                [*(_sql_value(v) for v in fields.values()), run_id],
            )
            return cursor.rowcount > 0

    def running(self) -> list[dict[str, Any]]:
        """Rows still marked `running` (cheap: the store asks on every open)."""
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            rows = con.execute("SELECT * FROM runs WHERE status = 'running'").fetchall()
        return [dict(row) for row in rows]

    def read(self) -> pl.DataFrame:
        with self._connect() as con:
            cursor = con.execute("SELECT * FROM runs ORDER BY started_at")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        return frame.with_columns(
            pl.col("started_at", "ended_at").cast(pl.String).str.to_datetime(strict=False)
        )
