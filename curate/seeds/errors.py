from __future__ import annotations


class IngestError(ValueError):
    """Bad seed input; the message starts with `file:line` and names the field."""
