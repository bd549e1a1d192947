"""Trace filters: one verdict per trace and filter; nothing is deleted."""

from quality.filters.base import TraceFilter, judge_all
from quality.filters.stage import FILTER_NAMES, FilterConfig, build_filters, run_filter
from quality.filters.traces import (
    AnswerVerified,
    Delimiters,
    Garbage,
    LengthBounds,
    NotTruncated,
    Repetition,
)

__all__ = [
    "FILTER_NAMES",
    "AnswerVerified",
    "Delimiters",
    "FilterConfig",
    "Garbage",
    "LengthBounds",
    "NotTruncated",
    "Repetition",
    "TraceFilter",
    "build_filters",
    "judge_all",
    "run_filter",
]
