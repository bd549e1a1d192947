"""A stage run: every write of one stage, committed as one DuckLake snapshot.

A run reads at its pinned input snapshot (`run.at`) and computes with the store unlocked. On a
folder store its first write takes the store's writer lock and opens the transaction; leaving
the `with` block commits everything, with the run's `runs` row, as one snapshot. On a shared
(PostgreSQL) catalog there is no lock: inserts wait in memory and are written in one short
transaction at the end, retried when DuckLake reports a conflict (store._commit). Either way
model calls and kernels never hold a lock, and a run that fails before or after writing leaves
the lake at its previous snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from store._catalog import committed_snapshot, qualified, tables_at
from store._commit import Pending, RetryPolicy, SharedWrites
from store._connection import LAKE
from store._lock import WriterLock
from store._tables import Tables
from store.current import version_key
from store.errors import SchemaError, StoreBusyError, StoreError
from store.schema import BUILTIN_TABLES, RUNS, VERSIONS, TableSpec, table_name
from store.version import code_version


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def version_row(spec: TableSpec, key: Mapping[str, object], run_id: str) -> pl.DataFrame:
    """The `versions` row saying run `run_id` wrote the current version of `spec` for `key`."""
    if spec.current is None or sorted(key) != sorted(spec.current):
        raise SchemaError(
            f"table '{spec.name}' is versioned per {list(spec.current or [])}; "
            f"a run cannot replace the version of {sorted(key)}"
        )
    return pl.DataFrame({"table_name": [spec.name], "key": [version_key(key)], "run_id": [run_id]})


def new_run_id(stage: str) -> str:
    return f"{stage}-{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


class Run(SharedWrites):
    """Handle a stage gets inside `with store.run(...) as run:`.

    Read at `run.at` (`run.ref(name)`, `run.todo(...)`); write with `insert`, which creates or
    upgrades the table from its spec, fills `run_id`, skips rows whose key is already stored
    and counts what landed; record other figures with `count` / `count_all`.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        store_name: str,
        lock: WriterLock | None,
        lock_timeout_s: float,
        run_id: str,
        stage: str,
        at: int,
        config_json: str,
        retry: RetryPolicy | None = None,
        table_locks: Callable[[Sequence[str]], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._con = con
        self._store_name = store_name
        self._lock = lock  # None: a shared catalog (PostgreSQL), writes deferred to the commit
        self._lock_timeout_s = lock_timeout_s
        self._retry = retry or RetryPolicy()
        self._table_locks = table_locks  # a shared catalog's per-table locks for unique_on
        self._pending: list[Pending] = []
        self._tables = Tables(con, store_name, run_id)
        self._seen: dict[str, int] | None = None  # the tables a shared run's estimates saw
        self._writing = False
        self._config_json = config_json
        self._started = now()
        self._clock = time.perf_counter()
        self.id = run_id
        self.stage = stage
        self.at = at
        self.counts: dict[str, int] = {}

    @property
    def input_snapshot(self) -> int:
        return self.at

    @property
    def started_at(self) -> datetime:
        return self._started

    def elapsed_s(self) -> float:
        return time.perf_counter() - self._clock

    # ---- reading at the pinned snapshot -------------------------------------------------
    def sql(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        return self._con.execute(query, params or []).pl()

    def has_table(self, table: TableSpec | str) -> bool:
        """Whether the table existed at the run's input snapshot."""
        return table_name(table) in tables_at(self._con, self.at)

    def ref(self, table: TableSpec | str) -> str:
        """SQL reference to the table at the run's input snapshot."""
        name = table_name(table)
        if not self.has_table(name):
            raise StoreError(f"table '{name}' does not exist at snapshot {self.at}")
        return qualified(name, self.at)

    def todo(
        self,
        rows: pl.DataFrame,
        table: TableSpec | str,
        on: str | Sequence[str],
        where: Mapping[str, object] | None = None,
    ) -> pl.DataFrame:
        """The rows of `rows` whose key (`on`) is not yet in `table` at the input snapshot,
        among the table's rows matching every `where` column = value: the resume filter of
        every stage ("not yet done for this key")."""
        name = table_name(table)
        keys = [on] if isinstance(on, str) else list(on)
        if rows.height == 0 or not self.has_table(name):
            return rows
        where = dict(where or {})
        cond = " AND ".join(f'"{c}" IS NOT DISTINCT FROM ?' for c in where) or "true"
        cols = ", ".join(f'"{c}"' for c in keys)
        done = self.sql(
            f"SELECT DISTINCT {cols} FROM {qualified(name, self.at)} WHERE {cond}",
            list(where.values()),
        )
        done = done.cast({c: rows.schema[c] for c in keys})  # type: ignore[arg-type]
        return rows.join(done, on=keys, how="anti", nulls_equal=True)

    # ---- counting -------------------------------------------------------------------------
    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(n)

    def count_all(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Add every figure of `counts`; returns the run's counts: the live mapping, which the
        commit corrects to what landed (on a shared catalog another run may have stored some
        of the keys meanwhile), so a stage that returns it prints what landed."""
        for name, n in counts.items():
            self.count(name, n)
        return self.counts

    def counts_json(self) -> str:
        return json.dumps(self.counts, sort_keys=True)

    # ---- writing --------------------------------------------------------------------------
    def insert(
        self,
        spec: TableSpec,
        rows: pl.DataFrame | pa.Table,
        *,
        replaces: Mapping[str, object] | None = None,
    ) -> int:
        """Insert `rows` into `spec`'s table, skipping rows whose `spec.key` is stored (in the
        table or earlier in `rows`). A `run_id` column the rows lack is this run's. With
        `replaces` (a value for each of `spec.current`'s columns) the rows are the whole new
        current version for that value, even when there are none. Returns the rows inserted."""
        frame = rows if isinstance(rows, pl.DataFrame) else pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        extra = [c for c in frame.columns if c not in spec.columns]
        if extra:
            raise SchemaError(
                f"rows for table '{spec.name}' have columns it does not declare: {extra}"
            )
        if "run_id" in spec.columns and "run_id" not in frame.columns:
            frame = frame.with_columns(run_id=pl.lit(self.id, dtype=pl.String))
        missing = [c for c in spec.columns if c not in frame.columns]
        frame = frame.with_columns(pl.lit(None).alias(c) for c in missing)
        if replaces is not None:
            self._write(VERSIONS, version_row(spec, replaces, self.id), None)
        inserted = self._write(spec, frame, spec.key or None)
        self.count(f"{spec.name}_inserted", inserted)
        return inserted

    def _write(self, spec: TableSpec, frame: pl.DataFrame, unique_on: Sequence[str] | None) -> int:
        if self._lock is None:  # an empty insert too: the commit still creates the table
            return self._defer(spec, frame, unique_on)
        self._begin()
        self._tables.ensure(spec)
        return self._insert_frame(spec, frame, unique_on) if frame.height else 0

    def _begin(self) -> None:
        """Take the writer lock and open the transaction, once, at the first write (a shared
        catalog has no lock: its transaction opens at the commit)."""
        if self._writing or self._lock is None:
            return
        self._lock.acquire({"stage": self.stage, "run_id": self.id}, self._lock_timeout_s)
        try:
            self._con.execute("BEGIN TRANSACTION")
        except BaseException:
            self._lock.release()
            raise
        self._writing = True

    def commit(self) -> int:
        """Record the run and commit all its writes as one snapshot; returns the snapshot id."""
        if self._lock is None:
            return self._commit_shared()
        self._begin()
        self._write_builtin()
        try:
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            self.rollback()
            if "locked" in str(exc) or "onflict" in str(exc):
                raise StoreBusyError(
                    f"store {self._store_name}: commit of run {self.id} ({self.stage}) was "
                    f"refused by the catalog ({exc}); nothing was written — re-run the stage"
                ) from exc
            raise
        self._release()
        return committed_snapshot(self._con)

    def _write_builtin(self) -> None:
        for spec in BUILTIN_TABLES:
            self._tables.ensure(spec)
        self._insert_frame(RUNS, self._runs_row(), None)
        info = json.dumps({"run_id": self.id, "stage": self.stage})
        self._con.execute(
            f"CALL {LAKE}.set_commit_message('teachable', ?, extra_info => ?)",
            [f"{self.stage} {self.id}", info],
        )

    def rollback(self, keep_pending: bool = False) -> None:
        if self._writing:
            # a failed COMMIT has already ended the transaction
            with contextlib.suppress(duckdb.Error):
                self._con.execute("ROLLBACK")
        if not keep_pending:
            self._pending.clear()
        self._release()

    def _release(self) -> None:
        self._tables.reset()
        if self._writing:
            self._writing = False
            if self._lock is not None:
                self._lock.release()

    def _runs_row(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "run_id": [self.id],
                "stage": [self.stage],
                "status": ["succeeded"],
                "config": [self._config_json],
                "teachable_version": [code_version()],
                "input_snapshot": [self.at],
                "counts": [self.counts_json()],
                "error": [None],
                "started_at": [self._started],
                "ended_at": [now()],
                "duration_s": [self.elapsed_s()],
                "host": [socket.gethostname()],
                "pid": [os.getpid()],
            },
            schema_overrides={"error": pl.String},
        )

    def _insert_frame(
        self, spec: TableSpec, frame: pl.DataFrame, unique_on: Sequence[str] | None
    ) -> int:
        columns = list(spec.columns)
        frame = frame.select(columns)
        if unique_on:
            frame = frame.unique(subset=list(unique_on), keep="first", maintain_order=True)
        target = qualified(spec.name)
        cols = ", ".join(f'"{c}"' for c in columns)
        view = f"_incoming_{uuid.uuid4().hex[:8]}"
        self._con.register(view, frame.to_arrow())
        try:
            query = f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {view} i"
            if unique_on:
                match = " AND ".join(f't."{c}" IS NOT DISTINCT FROM i."{c}"' for c in unique_on)
                query += f" WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match})"
            result = self._con.execute(query).fetchone()
        finally:
            self._con.unregister(view)
        return int(result[0]) if result else 0
