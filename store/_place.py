"""Where a store lives, as the `Store` needs it: the parts that differ between a folder store
and a PostgreSQL-catalog store (store._open_pg builds the latter)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store._lock import WriterLock


@dataclass(frozen=True)
class Place:
    """Its name for messages (never a password), this machine's folder for it, the writer lock
    (None on a shared catalog), the journal (store.journal's interface) and, on a shared
    catalog, the per-table locks of unique inserts (store._postgres.TableLocks)."""

    name: str
    local_dir: Path
    lock: WriterLock | None
    journal: Any
    table_locks: Any = None


def journal_refusal(exc: BaseException) -> bool:
    """A journal this process may read but not write (read-only file or role, busy file)."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    return type(exc).__module__.startswith("psycopg") and "privilege" in str(exc).lower()
