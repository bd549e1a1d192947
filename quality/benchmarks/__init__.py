"""The benchmark registry: named evaluation sets (hub id, split, fields), their local mirrors,
and the preflight check that they can be found (`check`)."""

from quality.benchmarks.registry import (
    DATA_DIR_ENV,
    REGISTRY_ENV,
    BenchmarkMissing,
    BenchmarkSpec,
    Registry,
    add_benchmark,
    load_items,
    locate,
)

__all__ = [
    "DATA_DIR_ENV",
    "REGISTRY_ENV",
    "BenchmarkMissing",
    "BenchmarkSpec",
    "Registry",
    "add_benchmark",
    "load_items",
    "locate",
]
