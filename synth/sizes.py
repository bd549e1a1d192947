"""How much work one run may hold, checked before anything is allocated.

A stage builds its requests (items x samples) in memory before the first is sent, so a typo such
as `--samples 20000000` would grow the process by gigabytes before failing. Each count option has
a ceiling (`MAX_SAMPLES`), and the product with the items is checked against this machine's
memory: a run may use half of it, at `REQUEST_BYTES` per request (a request with its prompt,
its completion and its row; generated problems cost about as much).
"""

from __future__ import annotations

import os

from store.errors import InputError

MAX_SAMPLES = 10_000  # --samples of eval, traces, difficulty, proxy
REQUEST_BYTES = 4096
_FALLBACK_MEMORY = 8 << 30  # where the system does not say


def memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return _FALLBACK_MEMORY


def check_size(
    option: str, value: int, items: int = 1, *, what: str = "requests", named: bool = True
) -> None:
    """Refuse `option`'s `value` when `items` x `value` would not fit in half of memory (with
    `named` off, the message leaves out the option and value: a config validator's error is
    already shown under the field's name)."""
    total = items * value
    memory = memory_bytes()
    allowed = memory // 2 // REQUEST_BYTES
    if total <= allowed:
        return
    count = f"{items:,} items x {value:,} = {total:,} {what}" if items != 1 else f"{total:,} {what}"
    raise InputError(
        (f"{option} {value:,}: " if named else "")
        + f"{count}, more than one run can hold on this machine (about "
        f"{allowed:,} in half of its {memory / (1 << 30):.1f} GiB); lower {option}"
        + (" or narrow the items (--limit, --where)" if items != 1 else "")
    )
