"""`run_filter`: trace filters over the `traces` table, verdicts into `verdicts`."""

from __future__ import annotations

import polars as pl
from pydantic import Field

import quality.filters.traces  # noqa: F401  (defining the built-in filters registers them)
from quality.filters.base import FILTERS, TraceFilter, judge_all
from quality.filters.declare import FILTER_STAGE
from store import StageConfig, Store
from store.errors import InputError
from store.run import Run
from store.stream import record_batches
from store.tables import TRACES, VERDICTS

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
        raise InputError(f"unknown filter(s) {unknown} (known: {', '.join(FILTERS)})")
    return [FILTERS[f].from_config(config) for f in config.filters]


def _todo(run: Run, name: str, rejudge: bool) -> tuple[str, list[str]]:
    """Traces at the run's snapshot, less those with a verdict of filter `name` unless
    rejudging: (query, params)."""
    query = f"SELECT t.* FROM (SELECT * FROM {run.ref(TRACES)}) t"
    if rejudge or not run.has_table(VERDICTS):
        return query, []
    done = f"SELECT item_id FROM {run.ref(VERDICTS)} WHERE item_table = ? AND filter = ?"
    return f"{query} ANTI JOIN ({done}) v ON t.trace_id = v.item_id", [TRACES.name, name]


def run_filter(store: Store, config: FilterConfig) -> dict[str, int]:
    filters = build_filters(config)
    with store.run(FILTER_STAGE, config) as run:
        if not run.has_table(TRACES):
            raise InputError("no `traces` table yet: generate traces first")
        for f in filters:
            judged = 0
            # traces stream in batches: memory holds one batch of texts, not the table
            query, params = _todo(run, f.name, config.rejudge)
            for batch in record_batches(store, query, params, rows=config.batch_size):
                todo = pl.from_arrow(batch)
                assert isinstance(todo, pl.DataFrame)
                verdicts = judge_all(todo, [f])
                run.count(f"{f.name}_failed", int((~verdicts["passed"]).sum()))
                rows = verdicts.with_columns(item_table=pl.lit(TRACES.name), run_id=pl.lit(run.id))
                run.insert(VERDICTS, rows)
                judged += todo.height
            run.count(f"{f.name}_judged", judged)
        return run.counts
