"""Near-duplicate clusters inside the corpus (MinHash LSH); the earliest item of each is kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.lazy import lazy_exports

if TYPE_CHECKING:
    from quality.dedup.stage import DedupConfig, near_duplicates, run_dedup

# imported on first use: `teachable --help` reads this package's `declare` module
__getattr__ = lazy_exports(__name__, {"stage": ("DedupConfig", "near_duplicates", "run_dedup")})

__all__ = ["DedupConfig", "near_duplicates", "run_dedup"]
