"""Near-duplicate clusters inside the corpus (MinHash LSH); the earliest item of each is kept."""

from quality.dedup.stage import DedupConfig, near_duplicates, run_dedup

__all__ = ["DedupConfig", "near_duplicates", "run_dedup"]
