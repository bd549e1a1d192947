"""Errors the store raises; each message names what failed and what to do."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base class for store errors."""


class StageFailedError(StoreError):
    """A stage stopped for a reason it states (e.g. too many failed samples); its run is journaled
    as failed and nothing reached the lake."""


class StoreBusyError(StoreError):
    """Another process holds the store's writer lock, or the catalog refused a commit."""


class SchemaError(StoreError):
    """A table's schema in the store does not match what this version of teachable expects."""


class UnknownTableError(StoreError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class SnapshotNotFoundError(StoreError, LookupError):
    """A snapshot id or tag that the store does not have."""
