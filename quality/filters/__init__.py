"""Trace filters: one verdict per trace and filter; nothing is deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.lazy import lazy_exports

if TYPE_CHECKING:
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

# imported on first use: `teachable --help` reads this package's `declare` module
__getattr__ = lazy_exports(
    __name__,
    {
        "base": ("TraceFilter", "judge_all"),
        "stage": ("FILTER_NAMES", "FilterConfig", "build_filters", "run_filter"),
        "traces": (
            "AnswerVerified",
            "Delimiters",
            "Garbage",
            "LengthBounds",
            "NotTruncated",
            "Repetition",
        ),
    },
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
