from __future__ import annotations

from store.errors import InputError


class IngestError(InputError):
    """Bad seed input; the message starts with `file:line` and names the field."""
