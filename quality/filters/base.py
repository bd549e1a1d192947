"""Shared machinery for trace filters: a filter judges a columnar batch; the base records why.

A filter answers, for every row of a batch, "keep?" (`passed`), the measured quantity (`value`,
or null) and, when it fails, a short `reason`. `judge_all` runs several filters over a batch
and returns verdict rows; nothing is dropped here.

Defining a subclass with a `name` registers it in `FILTERS`, which is all the filter stage knows
of filters: a new filter is one class. Its constructor parameters come from the `FilterConfig`
fields of the same name, or keep the class's defaults (`from_config`).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from store.errors import InputError

if TYPE_CHECKING:
    from quality.filters.stage import FilterConfig

VERDICT_SCHEMA = pl.Schema({"passed": pl.Boolean, "value": pl.Float64, "reason": pl.String})

FILTERS: dict[str, type[TraceFilter]] = {}
"""Every defined filter by name, in definition order (the default order of the stage)."""


class TraceFilter(ABC):
    name: ClassVar[str]
    reads: ClassVar[tuple[str, ...]]  # trace columns this filter needs

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:  # a shared intermediate class, not a filter of its own
            return
        taken = FILTERS.get(name)
        where = f"{cls.__module__}.{cls.__qualname__}"
        if taken is not None and f"{taken.__module__}.{taken.__qualname__}" != where:
            raise TypeError(f"filter name '{name}' of {where} is taken by {taken.__qualname__}")
        FILTERS[name] = cls

    @classmethod
    def from_config(cls, config: FilterConfig) -> TraceFilter:
        """The filter with each constructor parameter read from the config field of that name
        (parameters the config lacks keep their defaults); override where the names differ."""
        fields = type(config).model_fields
        params = inspect.signature(cls).parameters
        return cls(**{p: getattr(config, p) for p in params if p in fields})

    @abstractmethod
    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        """One row per trace, in order: passed, value, reason (null when passed)."""

    def __call__(self, traces: pl.DataFrame) -> pl.DataFrame:
        missing = [c for c in self.reads if c not in traces.columns]
        if missing:
            raise InputError(f"filter '{self.name}' needs trace column(s) {missing}")
        out = self.judge(traces).cast(VERDICT_SCHEMA)
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
    schema = pl.Schema({"item_id": pl.String(), "filter": pl.String(), **VERDICT_SCHEMA})
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)
