"""Committing on a shared catalog (PostgreSQL): no store lock, DuckLake's conflict checks, retry.

Many processes write a PostgreSQL store at once. A run there keeps its inserts in memory
(`Pending`) until its block ends, then writes them all in one short transaction and commits.
DuckLake refuses a commit that conflicts with one made since the transaction began (two runs
creating the same table, an insert into a table another run altered or upgraded); the run then
rolls back, waits and writes the same pending inserts again in a fresh transaction, which sees
the other run's commit. The stage's computation is never repeated, and nothing is
half-written: every attempt is one transaction. Appends to different tables, and plain appends
to the same table, never conflict.

DuckLake has no unique constraints, and two concurrent appends to one table never conflict, so
`unique_on` needs one more guard: the write phases of runs inserting into the same table with
`unique_on` take that table's PostgreSQL advisory lock (store._postgres.TableLocks) before
their transaction begins, so each one's "key not stored yet" check sees the previous one's
commit. The locks cover only the write phase (milliseconds to seconds), never the stage's
computation. (Making such runs conflict inside DuckLake instead, by altering the table in each
of them, was tried: with 4 writers on one table a run could lose ten attempts in a row, and
every commit made a new schema version that every other process then had to reload.)
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import duckdb
import polars as pl

from store._catalog import committed_snapshot, qualified
from store._tables import Tables
from store.errors import ConfigError, StoreBusyError
from store.schema import VERSIONS, TableSpec

RETRIES_ENV = "TEACHABLE_COMMIT_RETRIES"
_RETRYABLE = ("conflict", "duplicate key", "could not serialize")


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` commits at most; before attempt n+1 a random wait of up to
    min(cap_s, base_s * 2**n) seconds ("full jitter": racing writers spread out)."""

    attempts: int = 10
    base_s: float = 0.05
    cap_s: float = 2.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        raw = os.environ.get(RETRIES_ENV)
        if not raw:
            return cls()
        try:
            attempts = int(raw)
        except ValueError:
            raise ConfigError(f"{RETRIES_ENV}: not a whole number: {raw!r}") from None
        if attempts < 1:
            raise ConfigError(f"{RETRIES_ENV}: must be at least 1, got {attempts}")
        return cls(attempts=attempts)

    def delay_s(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


def is_conflict(exc: BaseException) -> bool:
    """A commit DuckLake (or PostgreSQL under it) refused because of another writer."""
    if not isinstance(exc, duckdb.Error):
        return False
    text = str(exc).lower()
    return any(marker in text for marker in _RETRYABLE)


def conflict_line(exc: BaseException) -> str:
    """The one line of a conflict error that says what collided."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "conflict" in line.lower():
            return line
    return lines[-1] if lines else type(exc).__name__


@dataclass(frozen=True)
class Pending:
    """One `run.insert` waiting for the commit (the rows already have every spec column)."""

    spec: TableSpec
    frame: pl.DataFrame
    unique_on: tuple[str, ...] | None


def new_keys(
    frame: pl.DataFrame, earlier: Sequence[Pending], unique_on: Sequence[str]
) -> pl.DataFrame:
    """Rows of `frame` (first per key) whose key none of this run's `earlier` inserts into the
    same table holds: what the write phase will find new besides the table itself."""
    keys = list(unique_on)
    frame = frame.unique(subset=keys, keep="first", maintain_order=True)
    for op in earlier:
        frame = frame.join(op.frame.select(keys), on=keys, how="anti", nulls_equal=True)
    return frame


class SharedWrites:
    """The part of `Run` that writes to a shared catalog (store.run.Run mixes it in)."""

    _con: duckdb.DuckDBPyConnection
    _store_name: str
    _pending: list[Pending]
    _retry: RetryPolicy
    _tables: Tables
    _seen: dict[str, int] | None
    _table_locks: Callable[[Sequence[str]], AbstractContextManager[None]] | None
    _writing: bool
    id: str
    stage: str
    counts: dict[str, int]

    def _insert_frame(
        self, spec: TableSpec, frame: pl.DataFrame, unique_on: Sequence[str] | None
    ) -> int: ...
    def _write_builtin(self) -> None: ...
    def rollback(self, keep_pending: bool = False) -> None: ...

    def _defer(self, spec: TableSpec, frame: pl.DataFrame, unique_on: Sequence[str] | None) -> int:
        """Keep the rows for the commit; returns how many would land now (the commit counts
        again: a run committing meanwhile may have stored some of the keys)."""
        if self._seen is None:  # a run's estimates read the catalog once
            self._seen = self._tables.read()
        state = self._seen
        self._tables.check(spec, state)
        keys = tuple(unique_on) if unique_on else None
        same = [op for op in self._pending if op.spec.name == spec.name and op.frame.height]
        self._pending.append(Pending(spec, frame, keys))
        if keys is None or frame.height == 0:
            return frame.height
        fresh = new_keys(frame, same, keys)
        if fresh.height == 0 or spec.name not in state:
            return fresh.height
        return self._count_new(spec.name, fresh.select(keys), keys)

    def _count_new(self, name: str, keys_frame: pl.DataFrame, keys: Sequence[str]) -> int:
        view = f"_keys_{uuid.uuid4().hex[:8]}"
        self._con.register(view, keys_frame.to_arrow())
        try:
            match = " AND ".join(f't."{c}" IS NOT DISTINCT FROM i."{c}"' for c in keys)
            row = self._con.execute(
                f"SELECT count(*) FROM {view} i WHERE NOT EXISTS "
                f"(SELECT 1 FROM {qualified(name)} t WHERE {match})"
            ).fetchone()
        finally:
            self._con.unregister(view)
        return int(row[0]) if row else 0

    def _commit_shared(self) -> int:
        unique = sorted({op.spec.name for op in self._pending if op.unique_on})
        if self._table_locks is None or not unique:
            return self._commit_attempts()
        with self._table_locks(unique):
            return self._commit_attempts()

    def _commit_attempts(self) -> int:
        last: BaseException | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                time.sleep(self._retry.delay_s(attempt))
                self.counts["commit_retries"] = attempt
            try:
                self._write_pending()
                self._con.execute("COMMIT")
            except duckdb.Error as exc:
                self.rollback(keep_pending=True)
                if not is_conflict(exc):
                    raise
                last = exc
                continue
            self._writing = False
            self._tables.reset()
            self._pending.clear()
            return committed_snapshot(self._con)
        raise StoreBusyError(
            f"store {self._store_name}: run {self.id} ({self.stage}) could not commit: "
            f"{self._retry.attempts} attempt(s) conflicted with other writers (last: "
            f"{conflict_line(last) if last else '?'}); nothing was written. Re-run the stage "
            f"(its finished model calls are cached), or raise {RETRIES_ENV}."
        )

    def _write_pending(self) -> None:
        """One attempt: a fresh transaction (it sees every commit made so far) with every
        pending insert and the `runs` row."""
        self._con.execute("BEGIN TRANSACTION")
        self._writing = True
        self._tables.reset()
        inserted: dict[str, int] = {}
        for op in self._pending:
            self._tables.ensure(op.spec)
            n = self._insert_frame(op.spec, op.frame, op.unique_on) if op.frame.height else 0
            inserted[op.spec.name] = inserted.get(op.spec.name, 0) + n
        for name, n in inserted.items():
            if name != VERSIONS.name:  # bookkeeping, as on a folder store
                self.counts[f"{name}_inserted"] = n
        self._write_builtin()
