"""A stage run: every write of one stage, committed as one DuckLake snapshot.

A run reads at its pinned input snapshot (`run.at`) and computes with the store unlocked: its
inserts wait in memory, and past `store._spill.SPILL_BYTES` in Parquet files on local disk (a
stage streaming a large source stays bounded in memory). Leaving the `with` block writes them
all, with the run's `runs` row, in one short transaction committed as one snapshot
(store._commit). On a folder store that write
phase alone holds the store's writer lock; on a shared (PostgreSQL) catalog there is no store
lock, and the transaction is retried when DuckLake reports a conflict. Either way model calls
and kernels never hold a lock, the counts the run reports for its inserts are the commit's, and
a run that fails before or during the commit leaves the lake at its previous snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from store._catalog import committed_snapshot, qualified, tables_at
from store._commit import (
    RETRIES_ENV,
    Pending,
    RetryPolicy,
    conflict_line,
    is_conflict,
    new_keys,
)
from store._connection import LAKE
from store._lock import WriterLock
from store._spill import SPILL_BYTES, Spill
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


class Run:
    """Handle a stage gets inside `with store.run(...) as run:`.

    Read at `run.at` (`run.ref(name)`, `run.todo(...)`); write with `insert`, which creates or
    upgrades the table from its spec, fills `run_id`, skips rows whose key is already stored
    and counts what landed (at the commit); record other figures with `count` / `count_all`.
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
        self._lock = lock  # None: a shared catalog (PostgreSQL), which has no store lock
        self._lock_timeout_s = lock_timeout_s
        self._retry = retry or RetryPolicy()
        self._table_locks = table_locks  # a shared catalog's per-table locks for unique_on
        self._pending: list[Pending] = []
        self._held = 0  # bytes of pending rows held in memory
        self._spill = Spill(run_id)
        self._tables = Tables(con, store_name, run_id)
        self._seen: dict[str, int] | None = None  # the tables the run's estimates saw
        self._writing = False  # the commit's transaction is open
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
        done = done.cast({c: rows.schema[c] for c in keys})
        return rows.join(done, on=keys, how="anti", nulls_equal=True)

    # ---- counting -------------------------------------------------------------------------
    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(n)

    def count_all(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Add every figure of `counts`; returns the run's counts: the live dict, which the
        commit brings up to date with what its inserts landed (return it from the stage)."""
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
        count: str | None = None,
    ) -> int:
        """Insert `rows` into `spec`'s table at the commit, skipping rows whose `spec.key` is
        stored (in the table or earlier in `rows`). A `run_id` column the rows lack is this
        run's. With `replaces` (a value for each of `spec.current`'s columns) the rows are the
        whole new current version for that value, even when there are none. Returns how many
        rows would land now, an estimate; the commit sets `counts["<table>_inserted"]` (and
        `counts[count]`, the rows of this insert alone) to what landed."""
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
            self._defer(VERSIONS, version_row(spec, replaces, self.id), None)
        inserted = self._defer(spec, frame, spec.key or None, count)
        self.count(f"{spec.name}_inserted", inserted)
        if count:
            self.count(count, inserted)
        return inserted

    def _defer(
        self,
        spec: TableSpec,
        frame: pl.DataFrame,
        unique_on: Sequence[str] | None,
        count: str | None = None,
    ) -> int:
        """Keep the rows for the commit (an empty insert too: the commit still creates the
        table); returns how many would land now (the commit counts again: a run committing
        meanwhile may have stored some of the keys)."""
        if self._seen is None:  # a run's estimates read the catalog once
            self._seen = self._tables.read()
        state = self._seen
        stored = self._tables.check(spec, state)
        keys = tuple(unique_on) if unique_on else None
        same = [op for op in self._pending if op.spec.name == spec.name and op.rows]
        self._pending.append(self._keep(Pending(spec, frame, keys, count, rows=frame.height)))
        if keys is None or frame.height == 0:
            return frame.height
        fresh = new_keys(frame, same, keys)
        if fresh.height == 0 or spec.name not in state or stored < spec.version:
            return fresh.height  # nothing stored to compare with (an old table may lack a key)
        return self._count_new(spec.name, fresh.select(keys), keys)

    def _keep(self, op: Pending) -> Pending:
        """The insert as it waits: in memory, or once the run holds SPILL_BYTES, on disk."""
        assert op.frame is not None
        size = int(op.frame.estimated_size())
        if self._held + size <= SPILL_BYTES or op.frame.height == 0:
            self._held += size
            return op
        frame = op.frame
        if op.unique_on:  # the write phase dedups a file against the table, not within it
            frame = frame.unique(subset=list(op.unique_on), keep="first", maintain_order=True)
        path = self._spill.write(frame.select(list(op.spec.columns)))
        return Pending(op.spec, None, op.unique_on, op.count, path, op.rows)

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

    def commit(self) -> int:
        """Write the pending inserts and the run's `runs` row in one transaction and commit
        them as one snapshot; returns the snapshot id. Only this write phase holds a lock: the
        folder store's writer lock, or a shared catalog's table locks for `unique_on` inserts.
        A shared catalog retries a commit DuckLake refused for a conflict."""
        with self._write_phase():
            return self._commit_attempts()

    @contextlib.contextmanager
    def _write_phase(self) -> Iterator[None]:
        if self._lock is not None:
            self._lock.acquire({"stage": self.stage, "run_id": self.id}, self._lock_timeout_s)
            try:
                yield
            finally:
                self._lock.release()
            return
        unique = sorted({op.spec.name for op in self._pending if op.unique_on})
        if self._table_locks is None or not unique:
            yield
            return
        with self._table_locks(unique):
            yield

    def _commit_attempts(self) -> int:
        attempts = self._retry.attempts if self._lock is None else 1  # the lock excludes writers
        last: BaseException | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self._retry.delay_s(attempt))
                self.counts["commit_retries"] = attempt
            try:
                self._begin()
                self._write_pending()
                self._write_builtin()
                self._con.execute("COMMIT")
            except duckdb.Error as exc:
                self.rollback(keep_pending=True)
                if self._lock is not None and ("locked" in str(exc) or "onflict" in str(exc)):
                    raise StoreBusyError(
                        f"store {self._store_name}: commit of run {self.id} ({self.stage}) was "
                        f"refused by the catalog ({exc}); nothing was written — re-run the stage"
                    ) from exc
                if not is_conflict(exc):
                    raise
                last = exc
                continue
            self._writing = False
            self._tables.reset()
            self._forget_pending()
            return committed_snapshot(self._con)
        raise StoreBusyError(
            f"store {self._store_name}: run {self.id} ({self.stage}) could not commit: "
            f"{attempts} attempt(s) conflicted with other writers (last: "
            f"{conflict_line(last) if last else '?'}); nothing was written. Re-run the stage "
            f"(its finished model calls are cached), or raise {RETRIES_ENV}."
        )

    def _begin(self) -> None:
        """Open the commit's transaction: a fresh one sees every commit made so far."""
        self._con.execute("BEGIN TRANSACTION")
        self._writing = True
        self._tables.reset()

    def _write_pending(self) -> None:
        """Every pending insert; the run's `<table>_inserted` counts become what landed."""
        inserted: dict[str, int] = {}
        landed: dict[str, int] = {}
        for op in self._pending:
            self._tables.ensure(op.spec)
            n = self._insert_pending(op) if op.rows else 0
            inserted[op.spec.name] = inserted.get(op.spec.name, 0) + n
            if op.count:
                landed[op.count] = landed.get(op.count, 0) + n
        for name, n in inserted.items():
            if name != VERSIONS.name:  # bookkeeping
                self.counts[f"{name}_inserted"] = n
        self.counts.update(landed)

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
            self._writing = False
        if not keep_pending:
            self._forget_pending()
        self._tables.reset()

    def _forget_pending(self) -> None:
        self._pending.clear()
        self._held = 0
        self._spill.close()

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

    def _insert_pending(self, op: Pending) -> int:
        if op.frame is not None:
            return self._insert_frame(op.spec, op.frame, op.unique_on)
        assert op.path is not None  # spilled: DuckDB reads the file in its own batches
        return self._insert_from(op.spec, "read_parquet(?)", op.unique_on, [str(op.path)])

    def _insert_frame(
        self, spec: TableSpec, frame: pl.DataFrame, unique_on: Sequence[str] | None
    ) -> int:
        frame = frame.select(list(spec.columns))
        if unique_on:
            frame = frame.unique(subset=list(unique_on), keep="first", maintain_order=True)
        view = f"_incoming_{uuid.uuid4().hex[:8]}"
        self._con.register(view, frame.to_arrow())
        try:
            return self._insert_from(spec, view, unique_on)
        finally:
            self._con.unregister(view)

    def _insert_from(
        self,
        spec: TableSpec,
        source: str,
        unique_on: Sequence[str] | None,
        params: Sequence[Any] = (),
    ) -> int:
        """Insert the rows of `source` (a view, or a table function) whose key the table
        (this transaction's writes included) does not hold; returns how many landed."""
        target = qualified(spec.name)
        cols = ", ".join(f'"{c}"' for c in spec.columns)
        query = f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {source} i"
        if unique_on:
            match = " AND ".join(f't."{c}" IS NOT DISTINCT FROM i."{c}"' for c in unique_on)
            query += f" WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match})"
        result = self._con.execute(query, list(params)).fetchone()
        return int(result[0]) if result else 0
