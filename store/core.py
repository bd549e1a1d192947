"""The versioned store: DuckLake tables, one snapshot per stage run, time travel, tags."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from store._connection import LAKE, connect
from store._lock import WriterLock
from store.errors import (
    SchemaError,
    SnapshotNotFoundError,
    StoreBusyError,
    StoreError,
    UnknownTableError,
)
from store.journal import Journal
from store.run import Run
from store.schema import BUILTIN_TABLES, RUNS, SCHEMA_VERSIONS, TAGS, TableSpec
from store.secrets import redact, scrub
from store.version import code_version

DEFAULT_PATH = "teachable-data"
Snapshot = int | str | None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _config_json(config: Any) -> str:
    if config is None:
        data: Any = {}
    elif hasattr(config, "model_dump"):
        data = config.model_dump(mode="json")
    elif isinstance(config, dict):
        data = config
    else:
        data = {"value": str(config)}
    return json.dumps(redact(data), sort_keys=True, default=str)


class Store:
    """A directory holding a DuckLake catalog (`catalog.sqlite`) and its Parquet files (`data/`).

    Open with `Store.open(path)`. Read with `table()` / `sql()` (Polars DataFrames) at any
    snapshot; write only inside `with store.run(stage, config) as run:`.
    """

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection, lock_timeout_s: float) -> None:
        self.root = root
        self._con = con
        self._lock = WriterLock(root / "writer.lock")
        self._lock_timeout_s = lock_timeout_s
        self._active_run: Run | None = None
        self._journal = Journal(root / "journal.sqlite")

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        create: bool = True,
        lock_timeout_s: float | None = None,
    ) -> Store:
        root = Path(path).expanduser().resolve()
        if not (root / "catalog.sqlite").exists():
            if not create:
                raise StoreError(f"no teachable store at {root} (run `teachable init {path}`)")
            root.mkdir(parents=True, exist_ok=True)
        if lock_timeout_s is None:
            lock_timeout_s = float(os.environ.get("TEACHABLE_LOCK_TIMEOUT", "10"))
        store = cls(root, connect(root), lock_timeout_s)
        if not store.has_table(SCHEMA_VERSIONS.name):
            with store.run("init", {"path": str(root)}):
                pass
        return store

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, snapshot={self.snapshot()})"

    # ---- reading -------------------------------------------------------------------------
    def snapshot(self) -> int:
        return int(self._con.execute(f"FROM {LAKE}.current_snapshot()").fetchone()[0])

    def has_table(self, name: str, at: Snapshot = None) -> bool:
        return name in self.tables(at)

    def tables(self, at: Snapshot = None) -> list[str]:
        # now: duckdb_tables() also sees tables created by the open run's transaction;
        # at a snapshot: DuckLake's own metadata says which tables existed then
        if at is None:
            rows = self._con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [LAKE]
            ).fetchall()
            return sorted(r[0] for r in rows)
        return self._tables_at(self.resolve(at))

    def _tables_at(self, version: int) -> list[str]:
        rows = self._con.execute(
            f"SELECT table_name FROM __ducklake_metadata_{LAKE}.ducklake_table "
            "WHERE begin_snapshot <= ? AND (end_snapshot IS NULL OR end_snapshot > ?)",
            [version, version],
        ).fetchall()
        return sorted(r[0] for r in rows)

    def resolve(self, at: Snapshot) -> int:
        """Snapshot id for `at`: None is the current one, an int is checked, a str is a tag."""
        if at is None:
            return self.snapshot()
        if isinstance(at, str) and not at.isdigit():
            if not self.has_table(TAGS.name):
                raise SnapshotNotFoundError(f"no tag '{at}' (the store has no tags yet)")
            row = self._con.execute(
                f"SELECT snapshot_id FROM {LAKE}.{TAGS.name} WHERE tag = ? "
                "ORDER BY created_at DESC LIMIT 1",
                [at],
            ).fetchone()
            if row is None:
                raise SnapshotNotFoundError(f"no tag '{at}' in store {self.root}")
            return int(row[0])
        version = int(at)
        exists = self._con.execute(
            f"SELECT count(*) FROM {LAKE}.snapshots() WHERE snapshot_id = ?", [version]
        ).fetchone()[0]
        if not exists:
            raise SnapshotNotFoundError(f"no snapshot {version} in store {self.root}")
        return version

    def table(self, name: str, at: Snapshot = None) -> pl.DataFrame:
        """The table as a Polars DataFrame, now or at a snapshot id / tag (time travel)."""
        return self.sql(f"SELECT * FROM {self.ref(name, at)}")

    def ref(self, name: str, at: Snapshot = None) -> str:
        """A SQL table reference for `name` at `at`, for use inside your own queries."""
        version = None if at is None else self.resolve(at)
        if not self.has_table(name, version):
            where = "now" if version is None else f"at snapshot {version}"
            known = ", ".join(self.tables(version)) or "none"
            raise UnknownTableError(
                f"table '{name}' does not exist in store {self.root} {where} "
                f"(tables: {known}); run the stage that writes it first"
            )
        base = f'{LAKE}."{name}"'
        return base if version is None else f"{base} AT (VERSION => {version})"

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        return self._con.execute(query, params or []).pl()

    def log(self) -> pl.DataFrame:
        """Snapshots, newest first, with the run that made each and the tags that name it."""
        snaps = self.sql(
            f"SELECT snapshot_id, snapshot_time, commit_extra_info FROM {LAKE}.snapshots()"
        ).with_columns(pl.col("commit_extra_info").str.json_path_match("$.run_id").alias("run_id"))
        runs = self.table(RUNS.name).select("run_id", "stage", "status", "counts", "duration_s")
        tags = (
            self.table(TAGS.name)
            .group_by("snapshot_id")
            .agg(pl.col("tag").sort().str.join(",").alias("tags"))
        )
        return (
            snaps.join(runs, on="run_id", how="left")
            .join(tags, on="snapshot_id", how="left")
            .drop("commit_extra_info")
            .sort("snapshot_id", descending=True)
        )

    def runs(self) -> pl.DataFrame:
        """Every run attempt from the journal: succeeded (with output snapshot), failed (with
        its error) and running/crashed."""
        return self._journal.read()

    # ---- writing -------------------------------------------------------------------------
    def tag(self, name: str, snapshot: Snapshot = None, note: str = "") -> int:
        """Name a snapshot (the current one by default); returns the tagged snapshot id."""
        target = self.resolve(snapshot)
        if (
            self.has_table(TAGS.name)
            and self.sql(f"SELECT 1 FROM {LAKE}.{TAGS.name} WHERE tag = ?", [name]).height
        ):
            raise StoreError(f"tag '{name}' already exists in store {self.root}")
        if name.isdigit():
            raise StoreError(f"tag '{name}' would be read as a snapshot id; use a name")
        frame = pl.DataFrame(
            {"tag": [name], "snapshot_id": [target], "created_at": [_now()], "note": [note]}
        )
        with self.run("tag", {"tag": name, "snapshot": target}) as run:
            run.insert(TAGS, frame)
        return target

    @contextmanager
    def run(self, stage: str, config: Any = None) -> Iterator[Run]:
        """All writes of one stage run, committed as one snapshot. On an exception nothing is
        written to the lake (it stays at its previous snapshot) and the journal records the run
        as failed."""
        if self._active_run is not None:
            raise StoreError(f"run '{self._active_run.id}' is already open on this store")
        run_id = f"{stage}-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        self._lock.acquire({"stage": stage, "run_id": run_id}, self._lock_timeout_s)
        started, clock = _now(), time.perf_counter()
        config_json = _config_json(config)
        try:
            run = Run(self, run_id, stage, self.snapshot())
            self._journal.start(
                {
                    "run_id": run_id,
                    "stage": stage,
                    "status": "running",
                    "config": config_json,
                    "teachable_version": code_version(),
                    "input_snapshot": run.input_snapshot,
                    "started_at": started,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                }
            )
            self._active_run = run
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield run
                self._record(run, config_json, started, clock)
                self._commit(run)
            except BaseException as exc:
                self._rollback()
                self._journal.finish(
                    run_id,
                    status="failed",
                    error=scrub(f"{type(exc).__name__}: {exc}")[:4000],
                    counts=run.counts_json(),
                    ended_at=_now(),
                    duration_s=time.perf_counter() - clock,
                )
                raise
            self._journal.finish(
                run_id,
                status="succeeded",
                output_snapshot=self.snapshot(),
                counts=run.counts_json(),
                ended_at=_now(),
                duration_s=time.perf_counter() - clock,
            )
        finally:
            self._active_run = None
            self._lock.release()

    def _rollback(self) -> None:
        # a failed COMMIT has already ended the transaction
        with contextlib.suppress(duckdb.Error):
            self._con.execute("ROLLBACK")

    def _commit(self, run: Run) -> None:
        info = json.dumps({"run_id": run.id, "stage": run.stage})
        self._con.execute(
            f"CALL {LAKE}.set_commit_message('teachable', ?, extra_info => ?)",
            [f"{run.stage} {run.id}", info],
        )
        try:
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            self._rollback()
            if "locked" in str(exc) or "onflict" in str(exc):
                raise StoreBusyError(
                    f"store {self.root}: commit of run {run.id} ({run.stage}) was refused by the "
                    f"catalog ({exc}); nothing was written — re-run the stage"
                ) from exc
            raise

    def _record(self, run: Run, config_json: str, started: datetime, clock: float) -> None:
        for spec in BUILTIN_TABLES:
            self._ensure_table(spec, run.id)
        row = pl.DataFrame(
            {
                "run_id": [run.id],
                "stage": [run.stage],
                "status": ["succeeded"],
                "config": [config_json],
                "teachable_version": [code_version()],
                "input_snapshot": [run.input_snapshot],
                "counts": [run.counts_json()],
                "error": [None],
                "started_at": [started],
                "ended_at": [_now()],
                "duration_s": [time.perf_counter() - clock],
                "host": [socket.gethostname()],
                "pid": [os.getpid()],
            },
            schema_overrides={"error": pl.String},
        )
        self._insert_frame(RUNS, row, None)

    # ---- schema ----------------------------------------------------------------------------
    def _ensure_table(self, spec: TableSpec, run_id: str) -> None:
        if self._active_run is None:
            raise StoreError(f"writing table '{spec.name}' outside `with store.run(...)`")
        name = f'{LAKE}."{spec.name}"'
        exists = self.has_table(spec.name)
        if spec is not SCHEMA_VERSIONS:
            self._ensure_table(SCHEMA_VERSIONS, run_id)
        if not exists:
            self._con.execute(spec.create_sql(name))
            self._set_version(spec, run_id)
            return
        if spec is SCHEMA_VERSIONS:
            return
        stored = self._con.execute(
            f"SELECT max(version) FROM {LAKE}.{SCHEMA_VERSIONS.name} WHERE table_name = ?",
            [spec.name],
        ).fetchone()[0]
        stored = int(stored or 1)
        if stored > spec.version:
            raise SchemaError(
                f"table '{spec.name}' in store {self.root} is at schema version {stored}, but "
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
            self._set_version(spec, run_id)

    def _set_version(self, spec: TableSpec, run_id: str) -> None:
        self._con.execute(
            f"INSERT INTO {LAKE}.{SCHEMA_VERSIONS.name} VALUES (?, ?, ?)",
            [spec.name, spec.version, run_id],
        )

    def _insert_frame(
        self, spec: TableSpec, frame: pl.DataFrame, unique_on: Sequence[str] | None
    ) -> int:
        columns = list(spec.columns)
        frame = frame.select(columns)
        if unique_on:
            frame = frame.unique(subset=list(unique_on), keep="first", maintain_order=True)
        target = f'{LAKE}."{spec.name}"'
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
