"""Open a DuckDB connection with DuckLake attached, over a SQLite or a PostgreSQL catalog.

The DuckLake, SQLite, PostgreSQL and httpfs extensions come from the `duckdb-ext-*` wheels (an
offline install), so the connection points DuckDB's extension directory at the wheels' folder
and never downloads.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import duckdb

from store._objstore import create_s3_secret, is_object_storage

CATALOG_FILE = "catalog.sqlite"
DATA_DIR = "data"
LAKE = "lake"


def _extension_directory() -> str | None:
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))) / "extensions")


def _prepare_catalog(catalog: Path) -> None:
    # WAL lets a reading process (a notebook) coexist with the writing one.
    with sqlite3.connect(catalog) as con:
        con.execute("PRAGMA journal_mode=WAL")


def _duckdb(*extensions: str) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False
    }
    ext_dir = _extension_directory()
    if ext_dir:
        config["extension_directory"] = ext_dir
    con = duckdb.connect(config=config)
    try:
        for name in extensions:
            _load(con, name)
    except BaseException:
        con.close()
        raise
    return con


def _load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    try:
        con.execute(f"LOAD {name}")
    except duckdb.Error as exc:
        wheel = "duckdb-ext-" + name.removesuffix("_scanner")
        raise RuntimeError(
            f"the DuckDB extension '{name}' is missing: install teachable's dependencies "
            f"({wheel}) for duckdb {duckdb.__version__}: {exc}"
        ) from exc


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    """A folder store: the catalog in `root/catalog.sqlite`, the Parquet files in `root/data/`."""
    con = _duckdb("ducklake", "sqlite_scanner")
    catalog = root / CATALOG_FILE
    _prepare_catalog(catalog)
    data = root / DATA_DIR
    data.mkdir(exist_ok=True)
    con.execute(
        f"ATTACH 'ducklake:sqlite:{_quote(catalog)}' AS {LAKE} "
        f"(DATA_PATH '{_quote(data)}/', OVERRIDE_DATA_PATH true)"
    )
    con.execute(f"USE {LAKE}")
    return con


def connect_postgres(dsn: str, data_path: str | None) -> duckdb.DuckDBPyConnection:
    """A PostgreSQL catalog (`dsn`, libpq URI or key=value form) with its data files in
    `data_path` (a folder or an s3:// prefix). Without `data_path` DuckLake uses the one the
    catalog recorded when it was created; with one, it overrides it for this connection (the
    same shared folder may be mounted under different paths on different machines)."""
    con = _duckdb("ducklake", "postgres_scanner")
    try:
        if data_path is not None and is_object_storage(data_path):
            _load(con, "httpfs")  # ~1 s to load: only for object storage
            create_s3_secret(con)
        options = ""
        if data_path is not None:
            if not is_object_storage(data_path):
                Path(data_path).mkdir(parents=True, exist_ok=True)
            options = f" (DATA_PATH '{_quote(_with_slash(data_path))}', OVERRIDE_DATA_PATH true)"
        con.execute(f"ATTACH 'ducklake:postgres:{_quote(dsn)}' AS {LAKE}{options}")
        stored = recorded_data_path(con)
        if data_path is None and is_object_storage(stored):
            _load(con, "httpfs")
            create_s3_secret(con)
        con.execute(f"USE {LAKE}")
    except BaseException:
        con.close()
        raise
    return con


def recorded_data_path(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(
        f"SELECT value FROM __ducklake_metadata_{LAKE}.ducklake_metadata WHERE key = 'data_path'"
    ).fetchone()
    return str(row[0]) if row else ""


def _with_slash(path: str) -> str:
    return path if path.endswith("/") else path + "/"


def _quote(path: Path | str) -> str:
    return str(path).replace("'", "''")
