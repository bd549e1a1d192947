"""The `dedup` stage (store.stage.Stage): its recipe stage and `teachable dedup` command come
from this declaration."""

from __future__ import annotations

from store.stage import Stage

DEDUP_STAGE = Stage(
    "dedup",
    config="quality.dedup.stage:DedupConfig",
    run="quality.dedup.stage:run_dedup",
    help="Cluster near-duplicates and keep the earliest of each cluster.",
    example="teachable dedup --table seeds --threshold 0.85",
    extras=("engine",),
)
