"""`teachable store migrate SRC DST`: copy a folder store into a new PostgreSQL-catalog store.

History (the default): every snapshot of the source is replayed as one commit of the target, in
order, with the same tables created or widened, the same rows inserted (DuckLake's
`ducklake_table_insertions` of that snapshot) and the same commit message and extra info. A
new catalog's first snapshot is 0, as the source's was, so every snapshot keeps its id: tags,
`runs.input_snapshot`, the journal's output snapshots and `--at` values stay valid, and time
travel to any old snapshot reads the same rows. Snapshot times become the migration's (each
run's own times are in `runs`). A source whose history holds something teachable never writes
(deleted or dropped rows and tables, other schemas, a column dropped or retyped) is refused
with a pointer to `--squash`.

Squash (`--squash`): one snapshot holding the source's current rows of every table, recorded
as a `store.migrate` run. Old snapshot ids do not exist in the target, so the tags (which name
them) are left out and listed in the report; the `runs` rows are kept as the record of what
ran, their snapshot ids referring to the source's history.

Both copy the journal (every run attempt) and write new Parquet files under the target's data
path. The target must be new: no teachable tables and no journal rows.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from store._catalog import current_snapshot, qualified
from store._connection import LAKE, connect_postgres
from store._postgres import is_postgres
from store.core import Store
from store.errors import StoreError
from store.schema import RUNS, TAGS

_REPLAYABLE = {"tables_created", "tables_inserted_into", "tables_altered"}


@dataclass
class MigrateReport:
    snapshots: int = 0  # commits made in the target
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    journal_rows: int = 0
    dropped_tags: list[str] = field(default_factory=list)  # squash only


def migrate(
    source: str | os.PathLike[str],
    target: str,
    data_path: str | os.PathLike[str] | None = None,
    squash: bool = False,
) -> MigrateReport:
    if is_postgres(source) or not (Path(source) / "catalog.sqlite").exists():
        raise StoreError(f"migrate reads a folder store; {source} is not one")
    if not is_postgres(target):
        raise StoreError("migrate writes a PostgreSQL store: give a postgresql:// target")
    src = Store.open(source, create=False)
    try:
        from store._journal_pg import PostgresJournal
        from store._open_pg import _data_path
        from store._postgres import PostgresLocation

        pg = PostgresLocation.parse(target)
        journal = PostgresJournal(pg)
        con = connect_postgres(pg.dsn, _data_path(data_path))
        try:
            _check_empty(con, journal, pg.display)
            report = _squash(src, con) if squash else _replay(src, con)
            report.journal_rows = _copy_journal(src, journal)
        finally:
            con.close()
            journal.close()
    finally:
        src.close()
    return report


def _check_empty(con: duckdb.DuckDBPyConnection, journal: Any, name: str) -> None:
    if current_snapshot(con) != 0 or journal.read().height:
        raise StoreError(
            f"the target {name} is not empty (it has snapshots or journal rows): migrate into a "
            "new database"
        )


def _replay(src: Store, con: duckdb.DuckDBPyConnection) -> MigrateReport:
    report = MigrateReport()
    names = dict(src.sql(f"SELECT table_id, table_name FROM {_meta()}.ducklake_table").rows())
    snapshots = src.sql(
        f"SELECT snapshot_id, changes, author, commit_message, commit_extra_info "
        f"FROM {LAKE}.snapshots() WHERE snapshot_id > 0 ORDER BY snapshot_id"
    )
    for snapshot, changes, author, message, extra in snapshots.iter_rows():
        changes = dict(changes or {})
        odd = set(changes) - _REPLAYABLE
        if odd:
            raise StoreError(
                f"snapshot {snapshot} of {src.name} holds changes a history copy cannot replay "
                f"({', '.join(sorted(odd))}): migrate with --squash"
            )
        con.execute("BEGIN TRANSACTION")
        try:
            shaped = {n.split(".", 1)[-1] for n in changes.get("tables_created", [])}
            shaped |= {names[int(i)] for i in changes.get("tables_altered", [])}
            for table in sorted(shaped):
                _shape(src, con, table, snapshot)
            for table_id in changes.get("tables_inserted_into", []):
                table = names[int(table_id)]
                rows = src.sql(
                    f"SELECT * FROM ducklake_table_insertions('{LAKE}', 'main', '{table}', "
                    f"{snapshot}, {snapshot})"
                )
                report.rows[table] = report.rows.get(table, 0) + _insert(con, table, rows)
            _commit(con, author, message, extra)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if current_snapshot(con) != snapshot:
            raise StoreError(
                f"snapshot {snapshot} of {src.name} became snapshot {current_snapshot(con)} in "
                "the target (it made no change a copy can repeat): migrate with --squash"
            )
        report.snapshots += 1
    return report


def _shape(src: Store, con: duckdb.DuckDBPyConnection, table: str, snapshot: int) -> None:
    """Create `table` in the target with its columns at `snapshot`, or add the columns it
    gained; any other schema change is refused."""
    wanted = _columns(src._con, f"{qualified(table, snapshot)}")
    have = _columns(con, qualified(table)) if _exists(con, table) else None
    if have is None:
        cols = ", ".join(f'"{name}" {kind}' for name, kind in wanted.items())
        con.execute(f"CREATE TABLE {qualified(table)} ({cols})")
        return
    changed = [n for n in have if n not in wanted or wanted[n] != have[n]]
    if changed:
        raise StoreError(
            f"table '{table}' at snapshot {snapshot} dropped or retyped columns {changed}: "
            "migrate with --squash"
        )
    for name, kind in wanted.items():
        if name not in have:
            con.execute(f'ALTER TABLE {qualified(table)} ADD COLUMN "{name}" {kind}')


def _columns(con: duckdb.DuckDBPyConnection, ref: str) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {ref}").fetchall()}


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND table_name = ?", [LAKE, table]
    ).fetchall()
    return bool(rows)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame) -> int:
    if rows.height == 0:
        return 0
    view = f"_migrate_{uuid.uuid4().hex[:8]}"
    cols = ", ".join(f'"{c}"' for c in rows.columns)
    con.register(view, rows.to_arrow())
    try:
        con.execute(f"INSERT INTO {qualified(table)} ({cols}) SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)
    return rows.height


def _commit(con: duckdb.DuckDBPyConnection, author: Any, message: Any, extra: Any) -> None:
    con.execute(
        f"CALL {LAKE}.set_commit_message(?, ?, extra_info => ?)",
        [author or "teachable", message or "", extra],
    )
    con.execute("COMMIT")


def _squash(src: Store, con: duckdb.DuckDBPyConnection) -> MigrateReport:
    report = MigrateReport(snapshots=1)
    run_id = f"store.migrate-{uuid.uuid4().hex[:6]}"
    con.execute("BEGIN TRANSACTION")
    try:
        for table in src.tables():
            wanted = _columns(src._con, qualified(table))
            cols = ", ".join(f'"{name}" {kind}' for name, kind in wanted.items())
            con.execute(f"CREATE TABLE {qualified(table)} ({cols})")
            if table == TAGS.name:
                report.dropped_tags = sorted(src.table(table)["tag"].to_list())
                continue
            report.rows[table] = _insert(con, table, src.table(table))
        record = _migrate_run(src, run_id, report)
        _insert(con, RUNS.name, record)
        extra = json.dumps({"run_id": run_id, "stage": "store.migrate"})
        _commit(con, "teachable", f"store.migrate {run_id}", extra)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def _migrate_run(src: Store, run_id: str, report: MigrateReport) -> pl.DataFrame:
    from store.run import now

    config = json.dumps({"source": src.name, "source_snapshot": src.snapshot(), "squash": True})
    counts = json.dumps({f"{t}_copied": n for t, n in sorted(report.rows.items())})
    at = now()
    return pl.DataFrame(
        {"run_id": [run_id], "stage": ["store.migrate"], "status": ["succeeded"],
         "config": [config], "counts": [counts], "started_at": [at], "ended_at": [at]}
    )  # fmt: skip


def _copy_journal(src: Store, journal: Any) -> int:
    rows = src.runs()
    for row in rows.iter_rows(named=True):
        journal.start({k: v for k, v in row.items() if v is not None})
    return rows.height


def _meta() -> str:
    return f"__ducklake_metadata_{LAKE}"
