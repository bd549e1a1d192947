"""Is the process that journaled a run still alive? (pid liveness, safe against pid reuse)

A pid alone is not an identity: after a crash the kernel hands the same number to a new
process sooner or later. So a run records its process's start identity too (on Linux the boot
id plus the start time in clock ticks from /proc/<pid>/stat), and a pid whose identity differs
is a different process. Where /proc is missing (macOS) only liveness can be checked.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "?"


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces and ')')."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def identity(pid: int) -> str | None:
    """A string naming this incarnation of `pid` (None where the system cannot say)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # stat(5): field 3 is the state, field 22 the start time; fields[0] is field 3
    return f"{_boot_id()}:{fields[19]}"


def alive(pid: int | None, recorded: str | None) -> bool:
    """Whether the process `pid` that recorded identity `recorded` still runs on this host."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is None:
        return not _PROC.is_dir() or pid == os.getpid()
    if fields[0] in ("Z", "X"):  # a zombie: dead, waiting for its parent to reap it
        return False
    return recorded is None or identity(pid) == recorded
