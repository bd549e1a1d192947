"""The store's writer lock: one writing run at a time, across processes.

DuckLake's SQLite catalog keeps a read transaction open for the length of a DuckDB transaction,
so two overlapping writer transactions cannot both commit ("database is locked"). Runs therefore
take an exclusive `flock` for their whole length; the holder writes who it is into the lock file
so the waiting process can say who holds the store.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import TextIO

from store.errors import StoreBusyError


class WriterLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: TextIO | None = None

    def acquire(self, holder: dict[str, str], timeout_s: float) -> None:
        handle = open(self._path, "a+")  # noqa: SIM115 - held open until release()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    who = handle.read().strip() or "unknown"
                    handle.close()
                    raise StoreBusyError(
                        f"store {self._path.parent} is being written by another process "
                        f"({who}); waited {timeout_s:.0f}s. Retry when it finishes, or raise "
                        "TEACHABLE_LOCK_TIMEOUT."
                    ) from None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        info = {**holder, "pid": os.getpid(), "host": socket.gethostname()}
        handle.write(json.dumps(info))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        handle = self._file
        handle.truncate(0)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
        self._file = None
