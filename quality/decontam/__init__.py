"""Decontamination against benchmarks: candidates from 13-grams, MinHash and shared values
(`index`), each aligned and given a kind (`kinds`: copy, paraphrase, quote, sibling), written by
the `decontam` stage (`stage`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.lazy import lazy_exports

if TYPE_CHECKING:
    from quality.decontam.index import BenchmarkIndex
    from quality.decontam.stage import DecontamConfig, find_contamination, run_decontam

# imported on first use: `teachable --help` reads this package's `declare` module
__getattr__ = lazy_exports(
    __name__,
    {
        "index": ("BenchmarkIndex",),
        "stage": ("DecontamConfig", "find_contamination", "run_decontam"),
    },
)

__all__ = ["BenchmarkIndex", "DecontamConfig", "find_contamination", "run_decontam"]
