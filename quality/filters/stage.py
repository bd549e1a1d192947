"""`run_filter`: trace filters over the `traces` table, verdicts into `verdicts`."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from quality.filters.base import TraceFilter, judge_all
from quality.filters.traces import (
    AnswerVerified,
    Delimiters,
    Garbage,
    LengthBounds,
    NotTruncated,
    Repetition,
)
from quality.tables import VERDICTS, VERDICTS_KEY
from store import StageConfig, Store
from store.run import Run
from store.stream import record_batches

FILTER_NAMES = ["delimiters", "not_truncated", "length", "repetition", "answer_verified", "garbage"]


class FilterConfig(StageConfig):
    filters: list[str] = Field(default_factory=lambda: list(FILTER_NAMES))
    min_tokens: int = 1
    max_tokens: int = 32_768
    repetition_n: int = 10
    max_repetition: float = 0.3
    max_control: float = 0.01
    max_non_ascii_letters: float = 0.3
    min_word_chars: float = 0.5
    rejudge: bool = False  # judge traces that already have a verdict from the same filter
    batch_size: int = Field(50_000, ge=1)


def build_filters(config: FilterConfig) -> list[TraceFilter]:
    made: dict[str, TraceFilter] = {
        "delimiters": Delimiters(),
        "not_truncated": NotTruncated(),
        "length": LengthBounds(config.min_tokens, config.max_tokens),
        "repetition": Repetition(config.repetition_n, config.max_repetition),
        "answer_verified": AnswerVerified(),
        "garbage": Garbage(config.max_control, config.max_non_ascii_letters, config.min_word_chars),
    }
    unknown = [f for f in config.filters if f not in made]
    if unknown:
        raise ValueError(f"unknown filter(s) {unknown} (known: {', '.join(FILTER_NAMES)})")
    return [made[f] for f in config.filters]


def _todo(run: Run, name: str, rejudge: bool) -> tuple[str, list[str]]:
    """Traces at the run's snapshot, less those with a verdict of filter `name` unless
    rejudging: (query, params)."""
    query = f"SELECT t.* FROM (SELECT * FROM {run.ref('traces')}) t"
    if rejudge or not run.has_table("verdicts"):
        return query, []
    done = f"SELECT item_id FROM {run.ref('verdicts')} WHERE item_table = 'traces' AND filter = ?"
    return f"{query} ANTI JOIN ({done}) v ON t.trace_id = v.item_id", [name]


def run_filter(store: Store, config: FilterConfig) -> dict[str, int]:
    filters = build_filters(config)
    with store.run("filter", config) as run:
        if not run.has_table("traces"):
            raise ValueError("no `traces` table yet: generate traces first")
        for f in filters:
            judged = 0
            # traces stream in batches: memory holds one batch of texts, not the table
            query, params = _todo(run, f.name, config.rejudge)
            for batch in record_batches(store, query, params, rows=config.batch_size):
                todo = pl.from_arrow(batch)
                assert isinstance(todo, pl.DataFrame)
                verdicts = judge_all(todo, [f])
                run.count(f"{f.name}_failed", int((~verdicts["passed"]).sum()))
                rows = verdicts.with_columns(item_table=pl.lit("traces"), run_id=pl.lit(run.id))
                run.insert(VERDICTS, rows, unique_on=VERDICTS_KEY)
                judged += todo.height
            run.count(f"{f.name}_judged", judged)
        return dict(run.counts)
