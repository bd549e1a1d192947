"""Opening a store whose catalog is in PostgreSQL (see store._postgres for the location).

The first process to open a new database creates DuckLake's catalog tables and the store's own
tables (its `init` run) while holding an advisory lock, so processes that start together on an
empty database neither race on PostgreSQL's CREATE TABLE nor record several `init` runs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from store._connection import connect_postgres
from store._journal_pg import PostgresJournal
from store._place import Place
from store._postgres import CREATE_LOCK, PostgresLocation, TableLocks, advisory_lock
from store.errors import StoreError
from store.schema import SCHEMA_VERSIONS

if TYPE_CHECKING:
    from store.core import Store

DATA_PATH_ENV = "TEACHABLE_DATA_PATH"


def open_postgres(
    cls: type[Store],
    location: str,
    data_path: str | os.PathLike[str] | None,
    create: bool,
    lock_timeout_s: float,
) -> Store:
    pg = PostgresLocation.parse(location)
    path = _data_path(data_path)
    session = pg.connect()
    try:
        store = None
        if not pg.has_catalog(session):
            with advisory_lock(session, CREATE_LOCK):
                store = _create(cls, pg, path, create, lock_timeout_s, session)
        if store is None:
            store = _open(cls, pg, path, lock_timeout_s)
            if not store.has_table(SCHEMA_VERSIONS.name):  # another process is creating it
                with advisory_lock(session, CREATE_LOCK):
                    _initialize(store)
    finally:
        session.close()
    store.report_crashes()
    return store


def _open(cls: type[Store], pg: PostgresLocation, path: str | None, timeout_s: float) -> Store:
    locks = TableLocks(pg, timeout_s)
    place = Place(pg.display, pg.local_dir(), None, PostgresJournal(pg), locks)
    try:
        con = _attach(pg, path)
    except BaseException:
        place.journal.close()
        raise
    return cls(con, place, timeout_s)


def _initialize(store: Store) -> None:
    try:
        store.initialize()
    except BaseException:
        store.close()
        raise


def _create(
    cls: type[Store],
    pg: PostgresLocation,
    path: str | None,
    create: bool,
    lock_timeout_s: float,
    session: Any,
) -> Store | None:
    """Create the catalog (None: another process created it while this one waited)."""
    if pg.has_catalog(session):
        return None
    if not create:
        raise StoreError(f"no teachable store in {pg.display} (run `teachable init`)")
    if path is None:
        raise StoreError(
            f"a new store in {pg.display} needs a data path for its files: pass data_path "
            f"(`--data-path` on the command line) or set {DATA_PATH_ENV} to a folder every "
            "writer can reach or to an s3:// prefix"
        )
    store = _open(cls, pg, path, lock_timeout_s)
    _initialize(store)
    return store


def _attach(pg: PostgresLocation, path: str | None) -> Any:
    try:
        return connect_postgres(pg.dsn, path)
    except RuntimeError:
        raise
    except Exception as exc:  # duckdb's own error: name the store, never its password
        from store.secrets import scrub

        raise StoreError(
            f"cannot attach the DuckLake catalog in {pg.display}: {scrub(str(exc).strip())}"
        ) from None


def _data_path(data_path: str | os.PathLike[str] | None) -> str | None:
    raw = os.fspath(data_path) if data_path is not None else os.environ.get(DATA_PATH_ENV)
    if not raw:
        return None
    from store._objstore import is_object_storage

    if is_object_storage(raw):
        return raw
    return str(os.path.abspath(os.path.expanduser(raw)))
