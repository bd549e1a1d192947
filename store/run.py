"""A stage run: every write of one stage, committed as one DuckLake snapshot.

A run reads at its pinned input snapshot (`run.at`) and computes with the store unlocked; its
first write takes the store's writer lock and opens the transaction, and leaving the `with`
block commits everything, with the run's `runs` row, as one snapshot. So model calls and
kernels never hold the lock, and a run that fails before or after writing leaves the lake at
its previous snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from store._catalog import current_snapshot, qualified, tables_at, tables_now
from store._connection import LAKE
from store._lock import WriterLock
from store.errors import SchemaError, StoreBusyError, StoreError
from store.schema import BUILTIN_TABLES, RUNS, SCHEMA_VERSIONS, TableSpec
from store.version import code_version


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id(stage: str) -> str:
    return f"{stage}-{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


class Run:
    """Handle a stage gets inside `with store.run(...) as run:`.

    Read at `run.at` (`run.ref(name)`, `run.todo(...)`); write with `insert`, which creates or
    upgrades the table from its spec, fills `run_id`, skips rows whose key is already stored
    and counts what landed; record other figures with `count` / `count_all`.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        root: Path,
        lock: WriterLock,
        lock_timeout_s: float,
        run_id: str,
        stage: str,
        at: int,
        config_json: str,
    ) -> None:
        self._con = con
        self._root = root
        self._lock = lock
        self._lock_timeout_s = lock_timeout_s
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

    def has_table(self, name: str) -> bool:
        """Whether `name` existed at the run's input snapshot."""
        return name in tables_at(self._con, self.at)

    def ref(self, name: str) -> str:
        """SQL reference to table `name` at the run's input snapshot."""
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
        name = table if isinstance(table, str) else table.name
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
        """Add every figure of `counts`; returns all of the run's counts so far."""
        for name, n in counts.items():
            self.count(name, n)
        return dict(self.counts)

    def counts_json(self) -> str:
        return json.dumps(self.counts, sort_keys=True)

    # ---- writing --------------------------------------------------------------------------
    def insert(
        self,
        spec: TableSpec,
        rows: pl.DataFrame | pa.Table,
        *,
        unique_on: Sequence[str] | None = None,
    ) -> int:
        """Insert `rows` into `spec`'s table; with `unique_on`, rows whose key exists (in the
        table or earlier in `rows`) are skipped. A `run_id` column the rows lack is this run's.
        Returns the number of rows inserted."""
        frame = rows if isinstance(rows, pl.DataFrame) else pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        extra = [c for c in frame.columns if c not in spec.columns]
        if extra:
            raise SchemaError(
                f"rows for table '{spec.name}' have columns it does not declare: {extra}"
            )
        self._begin()
        self._ensure_table(spec)
        if frame.height == 0:
            self.count(f"{spec.name}_inserted", 0)
            return 0
        if "run_id" in spec.columns and "run_id" not in frame.columns:
            frame = frame.with_columns(run_id=pl.lit(self.id))
        missing = [c for c in spec.columns if c not in frame.columns]
        frame = frame.with_columns(pl.lit(None).alias(c) for c in missing)
        inserted = self._insert_frame(spec, frame, unique_on)
        self.count(f"{spec.name}_inserted", inserted)
        return inserted

    def _begin(self) -> None:
        """Take the writer lock and open the transaction, once, at the first write."""
        if self._writing:
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
        self._begin()
        for spec in BUILTIN_TABLES:
            self._ensure_table(spec)
        self._insert_frame(RUNS, self._runs_row(), None)
        info = json.dumps({"run_id": self.id, "stage": self.stage})
        self._con.execute(
            f"CALL {LAKE}.set_commit_message('teachable', ?, extra_info => ?)",
            [f"{self.stage} {self.id}", info],
        )
        try:
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            self.rollback()
            if "locked" in str(exc) or "onflict" in str(exc):
                raise StoreBusyError(
                    f"store {self._root}: commit of run {self.id} ({self.stage}) was refused by "
                    f"the catalog ({exc}); nothing was written — re-run the stage"
                ) from exc
            raise
        self._release()
        return current_snapshot(self._con)

    def rollback(self) -> None:
        if self._writing:
            # a failed COMMIT has already ended the transaction
            with contextlib.suppress(duckdb.Error):
                self._con.execute("ROLLBACK")
        self._release()

    def _release(self) -> None:
        if self._writing:
            self._writing = False
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

    # ---- schema ---------------------------------------------------------------------------
    def _ensure_table(self, spec: TableSpec) -> None:
        name = qualified(spec.name)
        exists = spec.name in tables_now(self._con)
        if spec is not SCHEMA_VERSIONS:
            self._ensure_table(SCHEMA_VERSIONS)
        if not exists:
            self._con.execute(spec.create_sql(name))
            self._set_version(spec)
            return
        if spec is SCHEMA_VERSIONS:
            return
        stored = self._con.execute(
            f"SELECT max(version) FROM {qualified(SCHEMA_VERSIONS.name)} WHERE table_name = ?",
            [spec.name],
        ).fetchone()[0]
        stored = int(stored or 1)
        if stored > spec.version:
            raise SchemaError(
                f"table '{spec.name}' in store {self._root} is at schema version {stored}, but "
                f"this teachable ({code_version()}) knows version {spec.version}: upgrade teachable"
            )
        for version in range(stored + 1, spec.version + 1):
            if version not in spec.upgrades:
                raise SchemaError(
                    f"table '{spec.name}' is at version {stored}; no upgrade to {version} defined"
                )
            for statement in spec.upgrades[version]:
                self._con.execute(statement.format(table=name))
        if stored < spec.version:
            self._set_version(spec)

    def _set_version(self, spec: TableSpec) -> None:
        self._con.execute(
            f"INSERT INTO {qualified(SCHEMA_VERSIONS.name)} VALUES (?, ?, ?)",
            [spec.name, spec.version, self.id],
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
