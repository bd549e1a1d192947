"""Errors the store raises, and the user-facing base every package's errors derive from.

`TeachableError` is the one mark of "the user can fix this": bad input (`InputError`: a file, a
value, an option), a config or recipe that cannot run (`ConfigError`), a store that refuses
(`StoreError`). The CLI prints a TeachableError as one red line and exits 1; any other
exception is an internal bug and prints as a (scrubbed) traceback, so a bug never passes for
bad input. Each message names what failed (file, line, field) and what to do.
"""

from __future__ import annotations


class TeachableError(Exception):
    """Base of every error the user can fix; its message is one line."""


class InputError(TeachableError, ValueError):
    """Bad input: a file's content, an option's value, a name that does not exist."""


class NotFoundError(InputError, FileNotFoundError):
    """A file, folder, model or name the user gave does not exist."""


class ConfigError(TeachableError, ValueError):
    """A config, recipe or environment setting that cannot work as written."""


class ServiceError(TeachableError, ValueError):
    """A server the user pointed at (Label Studio, a model endpoint) refused or misbehaved."""


class StoreError(TeachableError, RuntimeError):
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
