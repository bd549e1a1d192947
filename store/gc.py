"""Garbage collection: remove data files that no snapshot references.

A run writes its Parquet files into `data/` as it inserts and references them in the catalog
only when it commits, so a run killed in between leaves unreferenced files behind (they cost
disk, never correctness: DuckLake reads only files the catalog names). DuckLake lists them
(`ducklake_delete_orphaned_files`) and the files of expired snapshots
(`ducklake_cleanup_old_files`; teachable never expires snapshots, so normally none).

Safety, because a file being written by a live run must never be removed:
- on a folder store gc holds the store's writer lock, and every teachable run writes files only
  while it holds that lock, so no teachable writer is mid-write;
- only files older than `min_age_s` go (a writer that does not take the lock, e.g. a DuckDB
  session attached to the catalog by hand, is protected by the age). A PostgreSQL store has no
  lock, since writers on other machines commit at any time: there the age is the guard, so gc
  refuses an age under `SHARED_MIN_AGE_S` (a run writes its files only in its commit, which
  lasts seconds);
- data files in object storage are refused: their age and removal would go through the
  bucket's API, which gc does not speak (use the bucket's own tools with the listing of
  `--dry-run`, or leave them: they cost storage, never correctness);
- only DuckLake's own file names (`ducklake-*.parquet`) are removed: anything else a person put
  in `data/` is reported and left;
- every candidate is checked against the file names the catalog references in any snapshot,
  so a data path that DuckLake compares differently (a moved store, a doubled slash) aborts gc
  instead of deleting live files.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from store._connection import LAKE, recorded_data_path
from store._lock import WriterLock
from store._objstore import is_object_storage
from store.errors import InputError, StoreBusyError, StoreError

DEFAULT_MIN_AGE_S = 300.0
SHARED_MIN_AGE_S = 60.0


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)  # paths removed (or, dry run, removable)
    bytes: int = 0
    kept_young: list[str] = field(default_factory=list)  # unreferenced, younger than min_age_s
    kept_foreign: list[str] = field(default_factory=list)  # not DuckLake files: left alone
    dry_run: bool = False
    least_min_age_s: float = 0.0  # the smallest min_age_s this store allows (shared: > 0)


def collect(
    con: duckdb.DuckDBPyConnection,
    lock: WriterLock | None,
    lock_timeout_s: float,
    min_age_s: float = DEFAULT_MIN_AGE_S,
    dry_run: bool = False,
) -> GcReport:
    """Remove unreferenced data files older than `min_age_s` (list them with `dry_run`).
    `lock` None: a shared catalog (no writer lock; see the module docstring)."""
    if min_age_s < 0:
        raise InputError(f"min_age_s must be >= 0, got {min_age_s}")
    data_path = recorded_data_path(con)
    if is_object_storage(data_path):
        raise StoreError(
            f"store gc does not clean data files in object storage ({data_path}): list the "
            "catalog's files with DuckLake's ducklake_delete_orphaned_files(dry_run => true) "
            "and expire them with the bucket's own tools; they cost storage, never correctness"
        )
    if lock is None and min_age_s < SHARED_MIN_AGE_S:
        raise StoreError(
            f"store gc on a shared (PostgreSQL) catalog keeps files younger than "
            f"{SHARED_MIN_AGE_S:g} s: another machine's run may be committing them (got "
            f"--min-age {min_age_s:g})"
        )
    if lock is not None:
        try:
            lock.acquire({"stage": "gc", "run_id": "gc"}, lock_timeout_s)
        except StoreBusyError as exc:
            raise StoreBusyError(
                f"store gc needs the writer lock, which a run holds: {exc}"
            ) from None
    try:
        report = GcReport(dry_run=dry_run, least_min_age_s=SHARED_MIN_AGE_S if lock is None else 0)
        _remove_orphans(con, report, time.time() - min_age_s)
        _remove_expired(con, report, min_age_s)
        return report
    finally:
        if lock is not None:
            lock.release()


def _remove_orphans(con: duckdb.DuckDBPyConnection, report: GcReport, cutoff: float) -> None:
    """Files in the data path that the catalog does not know, written before `cutoff`."""
    rows = con.execute(
        f"SELECT path FROM ducklake_delete_orphaned_files('{LAKE}', dry_run => true, "
        "cleanup_all => true)"
    ).fetchall()
    candidates = sorted(row[0] for row in rows)
    _check_unreferenced(con, candidates)
    for path in candidates:
        if not _ducklake_file(path):
            report.kept_foreign.append(path)
            continue
        try:
            info = os.stat(path)
        except FileNotFoundError:
            continue
        if info.st_mtime >= cutoff:
            report.kept_young.append(path)
            continue
        if not report.dry_run:
            os.remove(path)
        report.removed.append(path)
        report.bytes += info.st_size


def _remove_expired(con: duckdb.DuckDBPyConnection, report: GcReport, min_age_s: float) -> None:
    """Files of expired snapshots, scheduled for deletion at least `min_age_s` ago: DuckLake
    removes them and their schedule rows itself."""
    dry = "true" if report.dry_run else "false"
    rows = con.execute(
        f"SELECT path FROM ducklake_cleanup_old_files('{LAKE}', dry_run => {dry}, "
        "older_than => now() - to_seconds(?::DOUBLE))",
        [min_age_s],
    ).fetchall()
    report.removed.extend(row[0] for row in rows)


def _check_unreferenced(con: duckdb.DuckDBPyConnection, candidates: list[str]) -> None:
    # DuckLake's file names are UUIDs, so a name match means the catalog still uses the file
    meta = f"__ducklake_metadata_{LAKE}"
    rows = con.execute(
        f"SELECT path FROM {meta}.ducklake_data_file UNION ALL "
        f"SELECT path FROM {meta}.ducklake_delete_file"
    ).fetchall()
    referenced = {Path(row[0]).name for row in rows}
    live = [path for path in candidates if Path(path).name in referenced]
    if live:
        raise StoreError(
            f"gc stopped: DuckLake listed {len(live)} file(s) as unreferenced that the catalog "
            f"still names (e.g. {live[0]}); the data path may be spelled differently from the "
            "one the files were written under. Nothing was removed."
        )


def _ducklake_file(path: str) -> bool:
    name = Path(path).name
    return name.startswith("ducklake-") and name.endswith(".parquet")
