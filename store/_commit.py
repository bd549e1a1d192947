"""The commit of a run: pending inserts, DuckLake's conflict checks, retry.

Every run keeps its inserts (`Pending`: in memory, or past a size in a Parquet file, see
store._spill) until its block ends, then writes them all in one short transaction and commits
(store.run.Run.commit). On a folder store that write phase holds the store's writer lock; on a
shared (PostgreSQL) catalog many processes write at once.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from store.errors import ConfigError
from store.schema import TableSpec

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
    """One `run.insert` waiting for the commit (the rows already have every spec column):
    `frame` in memory, or `path`, a Parquet file of them (first row per `unique_on` key only);
    `count`: a figure of the run that counts the rows this insert lands."""

    spec: TableSpec
    frame: pl.DataFrame | None
    unique_on: tuple[str, ...] | None
    count: str | None = None
    path: Path | None = None
    rows: int = 0


def new_keys(
    frame: pl.DataFrame, earlier: Sequence[Pending], unique_on: Sequence[str]
) -> pl.DataFrame:
    """Rows of `frame` (first per key) whose key none of this run's `earlier` inserts into the
    same table holds: what the write phase will find new besides the table itself. Inserts
    spilled to disk (store._spill) are not read back for this estimate."""
    keys = list(unique_on)
    frame = frame.unique(subset=keys, keep="first", maintain_order=True)
    for op in earlier:
        if op.frame is not None:
            frame = frame.join(op.frame.select(keys), on=keys, how="anti", nulls_equal=True)
    return frame
