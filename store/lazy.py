"""Lazy package exports (PEP 562): a package whose `declare` module `teachable --help` reads
must not import its heavy modules when the package is imported, so it re-exports their public
names on first use instead.

    # quality/dedup/__init__.py
    if TYPE_CHECKING:
        from quality.dedup.stage import DedupConfig, run_dedup
    __getattr__ = lazy_exports(__name__, {"stage": ("DedupConfig", "run_dedup")})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: `exports` maps a submodule to the names it gives."""
    origin = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in origin:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{origin[name]}"), name)
        setattr(sys.modules[package], name, value)  # found directly from now on
        return value

    return __getattr__
