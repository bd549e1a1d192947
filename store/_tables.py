"""Creating and upgrading a run's tables from their specs, and checking their schema versions.

The store records the version each table was created or last upgraded at (`schema_versions`).
Asking DuckLake which tables exist costs a catalog read (on a PostgreSQL catalog a round trip
of ~10 ms), so a transaction reads the tables and their versions once (`Tables.state`) and
keeps the copy up to date with what it creates itself; `reset` drops it when the transaction
ends.
"""

from __future__ import annotations

import duckdb

from store._catalog import qualified, tables_now
from store.errors import SchemaError
from store.schema import SCHEMA_VERSIONS, TableSpec
from store.version import code_version


class Tables:
    def __init__(self, con: duckdb.DuckDBPyConnection, store_name: str, run_id: str) -> None:
        self._con = con
        self._store_name = store_name
        self._run_id = run_id
        self._state: dict[str, int] | None = None

    def reset(self) -> None:
        self._state = None

    def read(self) -> dict[str, int]:
        """Table -> stored schema version, as the connection sees the lake now."""
        tables = tables_now(self._con)
        versions: dict[str, int] = {}
        if SCHEMA_VERSIONS.name in tables:
            rows = self._con.execute(
                f"SELECT table_name, max(version) FROM {qualified(SCHEMA_VERSIONS.name)} "
                "GROUP BY table_name"
            ).fetchall()
            versions = {str(name): int(v or 1) for name, v in rows}
        return {name: versions.get(name, 1) for name in tables}

    def state(self) -> dict[str, int]:
        if self._state is None:
            self._state = self.read()
        return self._state

    def check(self, spec: TableSpec, state: dict[str, int] | None = None) -> int:
        """The table's stored version (the spec's when the table is not there yet), checked
        against the spec: a newer one, or one the spec has no upgrade from, is a SchemaError."""
        state = self.state() if state is None else state
        if spec.name not in state:
            return spec.version
        stored = state[spec.name]
        if stored > spec.version:
            raise SchemaError(
                f"table '{spec.name}' in store {self._store_name} is at schema version {stored}, "
                f"but this teachable ({code_version()}) knows version {spec.version}: upgrade "
                "teachable"
            )
        for version in range(stored + 1, spec.version + 1):
            if version not in spec.upgrades:
                raise SchemaError(
                    f"table '{spec.name}' is at version {stored}; no upgrade to {version} defined"
                )
        return stored

    def ensure(self, spec: TableSpec) -> None:
        """Create the table from its spec, or bring it to the spec's version (inside the
        caller's transaction)."""
        state = self.state()
        if spec is not SCHEMA_VERSIONS:
            self.ensure(SCHEMA_VERSIONS)
        name = qualified(spec.name)
        if spec.name not in state:
            self._con.execute(spec.create_sql(name))
            self._set_version(spec)
            state[spec.name] = spec.version
            return
        if spec is SCHEMA_VERSIONS:
            return
        stored = self.check(spec, state)
        for version in range(stored + 1, spec.version + 1):
            for statement in spec.upgrades[version]:
                self._con.execute(statement.format(table=name))
        if stored < spec.version:
            self._set_version(spec)
            state[spec.name] = spec.version

    def _set_version(self, spec: TableSpec) -> None:
        self._con.execute(
            f"INSERT INTO {qualified(SCHEMA_VERSIONS.name)} VALUES (?, ?, ?)",
            [spec.name, spec.version, self._run_id],
        )
