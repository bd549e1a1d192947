"""Shared machinery for trace filters: a filter judges a columnar batch; the base records why.

A filter answers, for every row of a batch, "keep?" (`passed`), the measured quantity (`value`,
or null) and, when it fails, a short `reason`. `judge_all` runs several filters over a batch
and returns verdict rows; nothing is dropped here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import polars as pl

VERDICT_SCHEMA = {"passed": pl.Boolean, "value": pl.Float64, "reason": pl.String}


class TraceFilter(ABC):
    name: ClassVar[str]
    reads: ClassVar[tuple[str, ...]]  # trace columns this filter needs

    @abstractmethod
    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        """One row per trace, in order: passed, value, reason (null when passed)."""

    def __call__(self, traces: pl.DataFrame) -> pl.DataFrame:
        missing = [c for c in self.reads if c not in traces.columns]
        if missing:
            raise ValueError(f"filter '{self.name}' needs trace column(s) {missing}")
        out = self.judge(traces).cast(VERDICT_SCHEMA)  # type: ignore[arg-type]
        if out.height != traces.height:
            raise RuntimeError(
                f"filter '{self.name}' returned {out.height} rows for {traces.height}"
            )
        return out.with_columns(
            pl.when(pl.col("passed")).then(None).otherwise(pl.col("reason")).alias("reason")
        )


def judge_all(traces: pl.DataFrame, filters: Sequence[TraceFilter]) -> pl.DataFrame:
    """Verdict rows (item_id, filter, passed, value, reason) for every trace and filter."""
    frames = [
        f(traces).select(
            traces["trace_id"].alias("item_id"), pl.lit(f.name).alias("filter"), pl.all()
        )
        for f in filters
    ]
    schema = {"item_id": pl.String, "filter": pl.String, **VERDICT_SCHEMA}
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)
