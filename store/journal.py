"""The run journal: every attempt at a run, including failed and crashed ones.

Succeeded runs are also recorded in the DuckLake `runs` table, atomically with their data. A
failed run must leave the lake at its previous snapshot, so its record goes here instead, in a
small SQLite file beside the catalog. A run that is still `running` after its process died
shows up as such, with its pid.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import polars as pl

_COLUMNS = (
    "run_id TEXT PRIMARY KEY, stage TEXT, status TEXT, config TEXT, teachable_version TEXT, "
    "input_snapshot INTEGER, output_snapshot INTEGER, counts TEXT, error TEXT, "
    "started_at TEXT, ended_at TEXT, duration_s REAL, host TEXT, pid INTEGER"
)


class Journal:
    def __init__(self, path: Path) -> None:
        self._path = path
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(f"CREATE TABLE IF NOT EXISTS runs ({_COLUMNS})")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30)

    def start(self, row: dict[str, object]) -> None:
        row = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        with self._connect() as con:
            con.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )

    def finish(self, run_id: str, **fields: object) -> None:
        fields = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as con:
            con.execute(
                f"UPDATE runs SET {assignments} WHERE run_id = ?", [*fields.values(), run_id]
            )

    def read(self) -> pl.DataFrame:
        with self._connect() as con:
            cursor = con.execute("SELECT * FROM runs ORDER BY started_at")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        return frame.with_columns(
            pl.col("started_at", "ended_at").cast(pl.String).str.to_datetime(strict=False)
        )
