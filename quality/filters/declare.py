"""The `filter` stage (store.stage.Stage): its recipe stage and `teachable filter` command come
from this declaration."""

from __future__ import annotations

from store.stage import Stage

FILTER_STAGE = Stage(
    "filter",
    config="quality.filters.stage:FilterConfig",
    run="quality.filters.stage:run_filter",
    help="Judge traces with the quality filters into `verdicts`.",
    example="teachable filter -f not_truncated -f repetition",
    flags={"filters": ("--filter", "-f")},
)
