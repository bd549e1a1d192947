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
