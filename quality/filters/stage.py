"""`run_filter`: trace filters over the `traces` table, verdicts into `verdicts`."""

from __future__ import annotations

import polars as pl
from pydantic import Field

import quality.filters.traces  # noqa: F401  (defining the built-in filters registers them)
from quality.filters.base import FILTERS, TraceFilter, judge_all
from quality.tables import VERDICTS, VERDICTS_KEY
from store import StageConfig, Store

FILTER_NAMES = list(FILTERS)  # the built-in filters, in definition order


class FilterConfig(StageConfig):
    """A filter's constructor parameter takes the value of the field of the same name."""

    filters: list[str] = Field(default_factory=lambda: list(FILTERS))
    """Filters to run, by name (default: every registered filter)."""
    min_tokens: int = 1
    """Shortest completion kept, in completion tokens (words when the backend gave no count)."""
    max_tokens: int = 32_768
    """Longest completion kept."""
    repetition_n: int = 10
    """Words per n-gram of the repetition ratio."""
    max_repetition: float = 0.3
    """Highest repeated n-gram ratio (1 - distinct / total) kept."""
    max_control: float = 0.01
    """Highest share of control or replacement characters kept."""
    max_non_ascii_letters: float = 0.3
    """Highest share of letters outside ASCII kept (the corpus language is English)."""
    min_word_chars: float = 0.5
    """Lowest share of letters and digits among visible characters kept."""
    rejudge: bool = False
    """Judge traces that already have a verdict from the same filter."""
    batch_size: int = Field(50_000, ge=1)
    """Traces judged per batch."""


def build_filters(config: FilterConfig) -> list[TraceFilter]:
    """The configured filters, in the configured order, from the registry."""
    unknown = [f for f in config.filters if f not in FILTERS]
    if unknown:
        raise ValueError(f"unknown filter(s) {unknown} (known: {', '.join(FILTERS)})")
    return [FILTERS[f].from_config(config) for f in config.filters]


def run_filter(store: Store, config: FilterConfig) -> dict[str, int]:
    filters = build_filters(config)
    with store.run("filter", config) as run:
        if not store.has_table("traces", at=run.at):
            raise ValueError("no `traces` table yet: generate traces first")
        traces = store.table("traces", at=run.at)
        judged = None
        if not config.rejudge and store.has_table("verdicts", at=run.at):
            judged = store.table("verdicts", at=run.at).filter(item_table="traces")
        for f in filters:
            todo = traces
            if judged is not None:
                done = judged.filter(filter=f.name)["item_id"]
                todo = traces.filter(~pl.col("trace_id").is_in(done.implode()))
            for start in range(0, todo.height, config.batch_size):
                verdicts = judge_all(todo.slice(start, config.batch_size), [f])
                run.count(f"{f.name}_failed", int((~verdicts["passed"]).sum()))
                rows = verdicts.with_columns(item_table=pl.lit("traces"), run_id=pl.lit(run.id))
                run.insert(VERDICTS, rows, unique_on=VERDICTS_KEY)
            run.count(f"{f.name}_judged", todo.height)
        return dict(run.counts)
