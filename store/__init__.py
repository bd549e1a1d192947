"""Versioned DuckLake store: tables, snapshots, runs, time travel and tags."""

from store.config import StageConfig
from store.core import DEFAULT_PATH, Store
from store.errors import (
    ConfigError,
    InputError,
    SchemaError,
    SnapshotNotFoundError,
    StageFailedError,
    StoreBusyError,
    StoreError,
    TeachableError,
    UnknownTableError,
)
from store.run import Run
from store.schema import TableSpec
from store.secrets import install as _install_scrubber
from store.stage import Stage

_install_scrubber()  # every log record, warning and traceback of a teachable process is scrubbed

__all__ = [
    "ConfigError",
    "InputError",
    "DEFAULT_PATH",
    "Run",
    "SchemaError",
    "SnapshotNotFoundError",
    "Stage",
    "StageConfig",
    "StageFailedError",
    "Store",
    "StoreBusyError",
    "StoreError",
    "TableSpec",
    "TeachableError",
    "UnknownTableError",
]
