"""Open a DuckDB connection with DuckLake attached over a SQLite catalog.

The DuckLake and SQLite extensions come from the `duckdb-ext-*` wheels (an offline install),
so the connection points DuckDB's extension directory at the wheels' folder and never downloads.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import duckdb

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


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool] = {"autoinstall_known_extensions": False}
    ext_dir = _extension_directory()
    if ext_dir:
        config["extension_directory"] = ext_dir
    con = duckdb.connect(config=config)
    try:
        con.execute("LOAD ducklake")
        con.execute("LOAD sqlite_scanner")
    except duckdb.Error as exc:
        raise RuntimeError(
            "the DuckLake/SQLite DuckDB extensions are missing: install teachable's dependencies "
            f"(duckdb-ext-ducklake, duckdb-ext-sqlite) for duckdb {duckdb.__version__}: {exc}"
        ) from exc
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


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
