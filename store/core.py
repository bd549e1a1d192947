"""The versioned store: DuckLake tables, one snapshot per stage run, time travel, tags."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from store._catalog import current_snapshot, qualified, tables_at, tables_now
from store._commit import RetryPolicy
from store._connection import LAKE, connect, recorded_data_path
from store._lock import WriterLock
from store._objstore import is_object_storage
from store._place import Place, journal_refusal
from store._postgres import is_postgres
from store._process import alive, identity
from store._reconcile import committed_runs, crash_note
from store.current import has_version, latest_query, read_columns
from store.errors import InputError, SnapshotNotFoundError, StoreError, UnknownTableError
from store.gc import DEFAULT_MIN_AGE_S, GcReport, collect
from store.journal import JOURNAL_FILE, Journal
from store.run import Run, new_run_id, now
from store.schema import RUNS, SCHEMA_VERSIONS, TAGS, TableSpec, table_name
from store.secrets import redact, scrub
from store.sql import where_expression
from store.stage import Stage
from store.version import code_version

DEFAULT_PATH = "teachable-data"
log = logging.getLogger("teachable.store")
Snapshot = int | str | None


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
    """A versioned store: DuckLake tables, one snapshot per run, a journal of every run.

    Two kinds, one interface. A folder (`Store.open("teachable-data")`) holds the catalog
    (`catalog.sqlite`), the Parquet files (`data/`) and the journal; one run writes at a time
    (a file lock). A PostgreSQL catalog (`Store.open("postgresql://...", data_path=...)`) holds
    the catalog and the journal in the database and the files in a folder or object storage;
    many processes on many machines write at once (store._commit). Read with `table()` /
    `sql()` (Polars DataFrames) at any snapshot; write only inside `with store.run(...)`.

    `name` names the store in messages (never a password); `local_dir` is this machine's
    folder for the store's caches and reports (the folder itself for a folder store); `root`
    is the same folder, kept for callers that predate PostgreSQL stores.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, place: Place, lock_timeout_s: float) -> None:
        self._con = con
        self.name = place.name
        self.local_dir = place.local_dir
        self.root = place.local_dir
        self.shared = place.lock is None
        self._lock = place.lock
        self._journal = place.journal
        self._lock_timeout_s = lock_timeout_s
        self._retry = RetryPolicy.from_env()
        self._table_locks = place.table_locks
        self._active_run: Run | None = None

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        data_path: str | os.PathLike[str] | None = None,
        create: bool = True,
        lock_timeout_s: float | None = None,
    ) -> Store:
        """Open (or create) the store at `path`: a folder, or a PostgreSQL connection string
        (`postgresql://user:pass@host/db`), whose data files go to `data_path` (a folder or an
        `s3://bucket/prefix/`; default TEACHABLE_DATA_PATH; needed only to create one)."""
        if lock_timeout_s is None:
            lock_timeout_s = float(os.environ.get("TEACHABLE_LOCK_TIMEOUT", "60"))
        if is_postgres(path):
            from store._open_pg import open_postgres

            return open_postgres(cls, str(path), data_path, create, lock_timeout_s)
        if data_path is not None:
            raise StoreError(
                "data_path is for a PostgreSQL store; a folder store keeps its files in data/"
            )
        root = Path(path).expanduser().resolve()
        if not (root / "catalog.sqlite").exists():
            if not create:
                raise StoreError(f"no teachable store at {root} (run `teachable init {path}`)")
            root.mkdir(parents=True, exist_ok=True)
        lock = WriterLock(root / "writer.lock")
        place = Place(str(root), root, lock, Journal(root / JOURNAL_FILE))
        store = cls(connect(root), place, lock_timeout_s)
        store.initialize()
        store.report_crashes()
        return store

    def initialize(self) -> None:
        """Create the store's own tables (one `init` run) when they are not there yet."""
        if not self.has_table(SCHEMA_VERSIONS.name):
            with self.run("init", {"path": self.name}):
                pass

    def report_crashes(self) -> None:
        # a reader must still open a store whose journal it cannot write (read-only, busy)
        try:
            crashed = self.reconcile().get("crashed", 0)
        except Exception as exc:
            if not journal_refusal(exc):
                raise
            return
        if crashed:
            log.warning(
                "%d run(s) in store %s crashed before finishing: `teachable log --runs` "
                "shows them, `teachable store gc` removes the files they left",
                crashed, self.name,
            )  # fmt: skip

    def close(self) -> None:
        self._con.close()
        self._journal.close()
        if self._table_locks is not None:
            self._table_locks.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def protected_paths(self) -> list[Path]:
        """Folders an export may never write into, replace or contain: this machine's folder for
        the store and, on a shared catalog, a local data path."""
        paths = [self.local_dir]
        data = recorded_data_path(self._con)
        if data and not is_object_storage(data):
            paths.append(Path(data))
        return paths

    def __repr__(self) -> str:
        return f"Store({self.name!r}, snapshot={self.snapshot()})"

    # ---- reading -------------------------------------------------------------------------
    def snapshot(self) -> int:
        return current_snapshot(self._con)

    def has_table(self, table: TableSpec | str, at: Snapshot = None) -> bool:
        return table_name(table) in self.tables(at)

    def tables(self, at: Snapshot = None) -> list[str]:
        if at is None:
            return tables_now(self._con)
        return tables_at(self._con, self.snapshot_id(at))

    def snapshot_id(self, at: Snapshot) -> int:
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
                raise SnapshotNotFoundError(f"no tag '{at}' in store {self.name}")
            return int(row[0])
        version = int(at)
        found = self._con.execute(
            f"SELECT count(*) FROM {LAKE}.snapshots() WHERE snapshot_id = ?", [version]
        ).fetchone()
        if not found or not found[0]:
            raise SnapshotNotFoundError(f"no snapshot {version} in store {self.name}")
        return version

    def table(self, table: TableSpec | str, at: Snapshot = None) -> pl.DataFrame:
        """The table as a Polars DataFrame, now or at a snapshot id / tag (time travel)."""
        return self.sql(f"SELECT * FROM {self.ref(table, at)}")

    def ref(self, table: TableSpec | str, at: Snapshot = None) -> str:
        """A SQL table reference for the table at `at`, for use inside your own queries."""
        name = table_name(table)
        version = None if at is None else self.snapshot_id(at)
        if not self.has_table(name, version):
            where = "now" if version is None else f"at snapshot {version}"
            known = ", ".join(self.tables(version)) or "none"
            raise UnknownTableError(
                f"table '{name}' does not exist in store {self.name} {where} "
                f"(tables: {known}); run the stage that writes it first"
            )
        return qualified(name, version)

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
        its error), crashed (its process died before the run ended) and running."""
        self.reconcile()
        return self._journal.read()

    # ---- crashes -------------------------------------------------------------------------
    def reconcile(self) -> dict[str, int]:
        """Settle journal rows still `running` whose outcome is known, in the journal itself:
        a run whose commit reached the lake (killed before it could update the journal) is
        `succeeded` with its snapshot; a run whose process on this host is gone is `crashed`.
        Runs of live processes, and of other hosts that did not commit, stay `running`.
        Returns how many rows were settled per status. Runs on every open."""
        if self._active_run is not None:
            return {}  # its open transaction may not see the latest commits: settle later
        pending = self._journal.running()
        if not pending:
            return {}
        host = socket.gethostname()
        # liveness first: a process found gone cannot commit later, so the lake read after
        # it is final for that run
        gone = {
            r["run_id"] for r in pending if r["host"] == host and not alive(r["pid"], r["process"])
        }
        committed = (
            committed_runs(self._con, [r["run_id"] for r in pending])
            if self.has_table(RUNS.name)
            else {}
        )
        settled: dict[str, int] = {}
        for row in pending:
            run_id = row["run_id"]
            if run_id in committed:
                status, fields = "succeeded", {"error": None, **committed[run_id]}
            elif run_id in gone:
                status, fields = "crashed", {"error": crash_note(row)}
            else:
                continue
            if self._journal.settle(run_id, status=status, **fields):
                settled[status] = settled.get(status, 0) + 1
        return settled

    def gc(self, min_age_s: float = DEFAULT_MIN_AGE_S, dry_run: bool = False) -> GcReport:
        """Remove data files that no snapshot references (left by runs killed before their
        commit) once they are `min_age_s` old, holding the writer lock of a folder store
        (see store.gc for a PostgreSQL one)."""
        if self._active_run is not None:
            raise StoreError(f"run '{self._active_run.id}' is open on this store; gc after it")
        return collect(self._con, self._lock, self._lock_timeout_s, min_age_s, dry_run)

    # ---- writing -------------------------------------------------------------------------
    def tag(self, name: str, snapshot: Snapshot = None, note: str = "") -> int:
        """Name a snapshot (the current one by default); returns the tagged snapshot id."""
        if not name.strip() or name != name.strip() or not name.isprintable() or len(name) > 128:
            raise InputError(
                f"tag {name!r}: a tag is a name of 1 to 128 printable characters, without "
                "spaces at either end"
            )
        target = self.snapshot_id(snapshot)
        if (
            self.has_table(TAGS.name)
            and self.sql(f"SELECT 1 FROM {LAKE}.{TAGS.name} WHERE tag = ?", [name]).height
        ):
            raise StoreError(f"tag '{name}' already exists in store {self.name}")
        if name.isdigit():
            raise StoreError(f"tag '{name}' would be read as a snapshot id; use a name")
        frame = pl.DataFrame(
            {"tag": [name], "snapshot_id": [target], "created_at": [now()], "note": [note]}
        )
        with self.run("tag", {"tag": name, "snapshot": target}) as run:
            run.insert(TAGS, frame)
        if not run.counts.get(f"{TAGS.name}_inserted"):  # another writer tagged it meanwhile
            raise StoreError(f"tag '{name}' already exists in store {self.name}")
        return target

    @contextmanager
    def run(self, stage: str | Stage, config: Any = None) -> Iterator[Run]:
        """One run of `stage` (its declaration; a bare name for the store's own runs). It is
        journaled as `running` at once (before any model call), reads at a pinned input snapshot
        (`run.at`: the config's `at` when it has one, else the current snapshot, recorded back
        into the config), keeps its inserts (in memory, past a size in local
        Parquet files: store._spill), and writes and commits them as one
        snapshot when the block ends (a folder store's writer lock is held for that commit
        alone). On an exception nothing is written to the lake and the journal records the run
        as failed."""
        if self._active_run is not None:
            raise StoreError(f"run '{self._active_run.id}' is already open on this store")
        if isinstance(stage, Stage):
            stage = stage.name
        at = self.snapshot_id(getattr(config, "at", None))
        if hasattr(config, "model_copy") and "at" in type(config).model_fields:
            config = config.model_copy(update={"at": at})
        config_json = _config_json(config)
        run = Run(
            self._con, self.name, self._lock, self._lock_timeout_s,
            new_run_id(stage), stage, at, config_json, self._retry,
            self._table_locks.hold if self._table_locks is not None else None,
        )  # fmt: skip
        self._journal.start(
            {
                "run_id": run.id,
                "stage": stage,
                "status": "running",
                "config": config_json,
                "teachable_version": code_version(),
                "input_snapshot": at,
                "started_at": run.started_at,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "process": identity(os.getpid()),
            }
        )
        self._active_run = run
        try:
            yield run
            output = run.commit()
        except BaseException as exc:
            run.rollback()
            self._finish(run, "failed", error=scrub(f"{type(exc).__name__}: {exc}")[:4000])
            raise
        finally:
            self._active_run = None
        self._finish(run, "succeeded", output_snapshot=output)

    def _finish(self, run: Run, status: str, **fields: object) -> None:
        self._journal.finish(
            run.id,
            status=status,
            counts=run.counts_json(),
            ended_at=now(),
            duration_s=run.elapsed_s(),
            **fields,
        )

    # ---- the current version ----------------------------------------------------------------
    def latest_sql(
        self,
        table: TableSpec | str,
        key: str | Sequence[str] | None = None,
        at: Snapshot = None,
        source: str | None = None,
    ) -> str:
        """A parenthesised SELECT of the rows of `table` (at `at`) written by the latest run
        per `key` (default: the spec's `current` columns), every row of that run, runs ordered
        by their start time: the one definition of "the current version" (of a named
        selection, a seed's band, a dedup assignment, a trace's verdict). A run that replaced
        a version with no rows (`run.insert(..., replaces=)`) makes it empty. `source`
        replaces the table reference, e.g. by a filtered projection; it keeps `run_id`."""
        return latest_query(self, table, key, self.snapshot_id(at), source)

    def latest(
        self,
        table: TableSpec | str,
        key: str | Sequence[str] | None = None,
        at: Snapshot = None,
        where: str | None = None,
        params: Sequence[Any] | None = None,
    ) -> pl.DataFrame:
        """Rows of the latest run per `key` (see `latest_sql`), optionally filtered first by
        an SQL condition on the table (with `params`)."""
        source = None
        if where:  # user SQL: one checked expression (store.sql), parenthesized
            condition = where_expression(where, allow_params=True)
            source = f"(SELECT * FROM {self.ref(table_name(table), at)} WHERE {condition})"
        return self.sql(f"SELECT * FROM {self.latest_sql(table, key, at, source)}", params)

    def read(
        self,
        table: TableSpec,
        columns: Sequence[str] | None = None,
        *,
        at: Snapshot = None,
        where: str = "",
        params: Sequence[Any] = (),
        current: bool = False,
    ) -> pl.DataFrame:
        """`columns` of `table` at `at`, typed by its spec: the rows matching `where` (our own
        SQL, with `params`), only the current version's when `current`; empty when the table
        does not exist yet, NULL for a column an older table lacks."""
        return read_columns(self, table, columns, self.snapshot_id(at), where, params, current)

    def has_version(self, table: TableSpec, key: dict[str, object], at: Snapshot = None) -> bool:
        """Whether a run wrote a version of `table` for `key` (the current one may be empty)."""
        return has_version(self, table, key, self.snapshot_id(at))
