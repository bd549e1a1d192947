"""A stage run: every write of one stage, committed as one DuckLake snapshot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from store.errors import SchemaError

if TYPE_CHECKING:
    from store.core import Store
    from store.schema import TableSpec


class Run:
    """Handle a stage gets inside `with store.run(...) as run:`.

    Writes go through `insert`, which creates or upgrades the table from its spec, skips rows
    whose key is already stored, and counts what landed for the run record.
    """

    def __init__(self, store: Store, run_id: str, stage: str, input_snapshot: int) -> None:
        self._store = store
        self.id = run_id
        self.stage = stage
        self.input_snapshot = input_snapshot
        self.counts: dict[str, int] = {}

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(n)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        return self._store.sql(query, params)

    def has_table(self, name: str) -> bool:
        return self._store.has_table(name)

    def insert(
        self,
        spec: TableSpec,
        rows: pl.DataFrame | pa.Table,
        *,
        unique_on: Sequence[str] | None = None,
    ) -> int:
        """Insert `rows` into `spec`'s table; with `unique_on`, rows whose key exists (in the
        table or earlier in `rows`) are skipped. Returns the number of rows inserted."""
        self._store._ensure_table(spec, self.id)
        frame = rows if isinstance(rows, pl.DataFrame) else pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        extra = [c for c in frame.columns if c not in spec.columns]
        if extra:
            raise SchemaError(
                f"rows for table '{spec.name}' have columns it does not declare: {extra}"
            )
        if frame.height == 0:
            self.count(f"{spec.name}_inserted", 0)
            return 0
        missing = [c for c in spec.columns if c not in frame.columns]
        frame = frame.with_columns(pl.lit(None).alias(c) for c in missing)
        inserted = self._store._insert_frame(spec, frame, unique_on)
        self.count(f"{spec.name}_inserted", inserted)
        return inserted

    def counts_json(self) -> str:
        return json.dumps(self.counts, sort_keys=True)
