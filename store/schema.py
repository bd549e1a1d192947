"""Table specs: each stage declares its tables; the store creates and upgrades them.

A spec carries a version. The store records the version each table was created or last
upgraded at; a store written by a newer teachable (higher version) fails clearly instead of
being read with the wrong columns, and an older one is upgraded with the spec's `upgrades`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: dict[str, str]
    version: int = 1
    # version -> SQL statements that bring the table from version-1 to version ("{table}" is
    # replaced by the qualified name), e.g. {2: ["ALTER TABLE {table} ADD COLUMN note VARCHAR"]}
    upgrades: dict[int, list[str]] = field(default_factory=dict)

    def create_sql(self, qualified: str) -> str:
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in self.columns.items())
        return f"CREATE TABLE IF NOT EXISTS {qualified} ({cols})"


SCHEMA_VERSIONS = TableSpec(
    "schema_versions", {"table_name": "VARCHAR", "version": "INTEGER", "run_id": "VARCHAR"}
)

RUNS = TableSpec(
    "runs",
    {
        "run_id": "VARCHAR",
        "stage": "VARCHAR",
        "status": "VARCHAR",  # succeeded | failed
        "config": "VARCHAR",  # JSON, secrets redacted
        "teachable_version": "VARCHAR",
        "input_snapshot": "BIGINT",
        "counts": "VARCHAR",  # JSON {name: int}
        "error": "VARCHAR",
        "started_at": "TIMESTAMP",
        "ended_at": "TIMESTAMP",
        "duration_s": "DOUBLE",
        "host": "VARCHAR",
        "pid": "INTEGER",
    },
)

TAGS = TableSpec(
    "tags",
    {"tag": "VARCHAR", "snapshot_id": "BIGINT", "created_at": "TIMESTAMP", "note": "VARCHAR"},
)

BUILTIN_TABLES = (SCHEMA_VERSIONS, RUNS, TAGS)
