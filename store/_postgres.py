"""A store whose DuckLake catalog lives in a PostgreSQL database (many writers, many machines).

The location is a libpq connection string: a `postgresql://user:pass@host:port/db` URI or the
`host=... dbname=...` form. Its password is a secret: it is registered with the scrubber the
moment the location is parsed, and the store names itself everywhere by `display` (user, host,
port and database only).

Things that must be local to a machine (the request cache, reports, the folder of the store's
own lock files) go to `local_dir`: TEACHABLE_LOCAL_DIR, else ~/.cache/teachable/<digest of the
location>, so every store has its own and a machine reuses it across runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from store.errors import StoreBusyError, StoreError
from store.secrets import register, scrub

if TYPE_CHECKING:  # psycopg costs ~0.2 s to import: only PostgreSQL stores pay it
    import psycopg

SCHEMES = ("postgresql://", "postgres://")
LOCAL_DIR_ENV = "TEACHABLE_LOCAL_DIR"
# advisory lock namespace (the first key of pg_advisory_lock(int, int)): "tchb"
LOCK_NAMESPACE = 0x74636862
CREATE_LOCK = 1  # held while a process creates the catalog and the store's first tables
JOURNAL_LOCK = 2  # held while a process creates or upgrades the journal table
TABLE_NAMESPACE = LOCK_NAMESPACE + 1  # (namespace, crc32 of a table name): TableLocks


def is_postgres(location: str | os.PathLike[str]) -> bool:
    """A `postgresql://` URI, or a libpq `key=value` string that names a database."""
    text = str(location).strip()
    return text.startswith(SCHEMES) or (re.match(r"\w+\s*=", text) is not None and "dbname" in text)


@dataclass(frozen=True)
class PostgresLocation:
    dsn: str
    display: str

    @classmethod
    def parse(cls, location: str) -> PostgresLocation:
        import psycopg
        from psycopg import conninfo

        try:
            params = conninfo.conninfo_to_dict(location)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"not a PostgreSQL connection string: {scrub(str(exc))}") from None
        password = params.get("password")
        if password:
            register(str(password))
        host = str(params.get("host") or "localhost")
        port = f":{params['port']}" if params.get("port") else ""
        user = f"{params['user']}@" if params.get("user") else ""
        db = params.get("dbname") or params.get("user") or ""
        return cls(location, f"postgresql://{user}{host}{port}/{db}")

    def local_dir(self) -> Path:
        configured = os.environ.get(LOCAL_DIR_ENV)
        if configured:
            path = Path(configured).expanduser()
        else:
            digest = hashlib.sha256(self.display.encode()).hexdigest()[:16]
            path = Path.home() / ".cache" / "teachable" / digest
        path.mkdir(parents=True, exist_ok=True)
        return path.resolve()

    def connect(self) -> psycopg.Connection:
        """An autocommit session (journal statements, advisory locks)."""
        import psycopg

        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=30)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the store's PostgreSQL database {self.display}: "
                f"{scrub(str(exc).strip())}"
            ) from None

    def has_catalog(self, con: psycopg.Connection) -> bool:
        row = con.execute("SELECT to_regclass('ducklake_metadata') IS NOT NULL").fetchone()
        return bool(row and row[0])


@contextlib.contextmanager
def advisory_lock(con: psycopg.Connection, key: int) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock (namespace, key) for the block; a process that
    dies releases it with its session."""
    con.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, key])
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a dead session released it already
            con.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, key])


class TableLocks:
    """PostgreSQL advisory locks, one per table, that serialize the write phases of runs
    inserting into the same table with `unique_on` (see store._commit for why). Taken in
    sorted order, so two runs never wait on each other crosswise; a process that dies
    releases them with its session; waiting longer than `timeout_s` is a StoreBusyError."""

    def __init__(self, location: PostgresLocation, timeout_s: float) -> None:
        self._location = location
        self._timeout_ms = max(1, int(timeout_s * 1000))
        self._con: psycopg.Connection | None = None

    def _session(self) -> psycopg.Connection:
        if self._con is None or self._con.closed:
            self._con = self._location.connect()
            self._con.execute(f"SET lock_timeout = {self._timeout_ms}")
        return self._con

    @contextlib.contextmanager
    def hold(self, tables: Sequence[str]) -> Iterator[None]:
        import psycopg

        keys = sorted({zlib.crc32(name.encode()) - 2**31 for name in tables})
        if not keys:
            yield
            return
        con = self._session()
        taken: list[int] = []
        try:
            for key in keys:
                try:
                    con.execute("SELECT pg_advisory_lock(%s, %s)", [TABLE_NAMESPACE, key])
                except psycopg.errors.LockNotAvailable:
                    raise StoreBusyError(
                        f"store {self._location.display}: waited {self._timeout_ms / 1000:g} s "
                        f"for other runs writing unique keys into {', '.join(sorted(tables))}; "
                        "nothing was written. Retry, or raise TEACHABLE_LOCK_TIMEOUT."
                    ) from None
                taken.append(key)
            yield
        finally:
            for key in reversed(taken):
                with contextlib.suppress(psycopg.Error):
                    con.execute("SELECT pg_advisory_unlock(%s, %s)", [TABLE_NAMESPACE, key])

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
