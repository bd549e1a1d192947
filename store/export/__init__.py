"""Export of resolved mixtures: chat-format Parquet / JSON lines / HF datasets with a card.

Depends on nothing of ours: callers (curate.mixtures) resolve a mixture into rows with the
columns in `INPUT_COLUMNS` and pass them here with an `ExportMeta`.
"""

from store.export.card import ExportMeta
from store.export.format import INPUT_COLUMNS, OUTPUT_COLUMNS, TOKEN_RULE
from store.export.split import is_val, seed_buckets
from store.export.writer import FORMATS, ExportError, ExportResult, export_rows

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
