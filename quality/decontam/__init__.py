"""Decontamination against benchmarks: candidates from 13-grams, MinHash and shared values
(`index`), each aligned and given a kind (`kinds`: copy, paraphrase, quote, sibling), written by
the `decontam` stage (`stage`)."""

from quality.decontam.index import BenchmarkIndex
from quality.decontam.stage import DecontamConfig, find_contamination, run_decontam

__all__ = ["BenchmarkIndex", "DecontamConfig", "find_contamination", "run_decontam"]
