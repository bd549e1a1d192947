"""Export of built mixtures: chat-format Parquet / JSON lines / HF datasets with a card.

The `export` stage (`stage`) streams a mixture build's rows (columns `INPUT_COLUMNS`) into
`export_rows` (`writer`), which renders each trace as chat messages (`chat`: the reasoning
inside the think delimiters of store.tables.traces), splits train/val by seed (`split`),
writes the files and the dataset card (`card`) into a staging folder and moves it into a
target that is never the store (`target`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.lazy import lazy_exports

if TYPE_CHECKING:
    from curate.export.card import ExportMeta
    from curate.export.chat import INPUT_COLUMNS, OUTPUT_COLUMNS, TOKEN_RULE
    from curate.export.split import is_val, seed_buckets
    from curate.export.writer import FORMATS, ExportError, ExportResult, export_rows

# imported on first use: `teachable --help` reads this package's `declare` module
__getattr__ = lazy_exports(
    __name__,
    {
        "card": ("ExportMeta",),
        "chat": ("INPUT_COLUMNS", "OUTPUT_COLUMNS", "TOKEN_RULE"),
        "split": ("is_val", "seed_buckets"),
        "writer": ("FORMATS", "ExportError", "ExportResult", "export_rows"),
    },
)

__all__ = [
    "FORMATS",
    "INPUT_COLUMNS",
    "OUTPUT_COLUMNS",
    "TOKEN_RULE",
    "ExportError",
    "ExportMeta",
    "ExportResult",
    "export_rows",
    "is_val",
    "seed_buckets",
]
