"""Where a run's pending inserts wait once they grow large: Parquet files in a folder of its own.

A run keeps its inserts until the commit (store.run). A stage that streams a large source in
batches (seed ingestion) would otherwise hold every batch's rows in memory at once, undoing the
streaming; so past `SPILL_BYTES` of pending rows a run writes each further insert to a Parquet
file here, and the commit inserts from the files, in order, inside the same one transaction.
The folder lives in the system's temporary directory (TMPDIR), is named after the process and
the run, and is removed when the run commits or fails; folders of processes that died (SIGKILL)
are removed by the next run that spills.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import polars as pl

from store._process import alive

SPILL_BYTES = 16 << 20  # pending rows kept in memory per run before they go to disk
_PREFIX = "teachable-spill-"


class Spill:
    """The Parquet files of one run's spilled inserts (the folder is made on first use)."""

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        self._dir: Path | None = None
        self._files = 0

    def write(self, frame: pl.DataFrame) -> Path:
        if self._dir is None:
            _sweep()
            name = f"{_PREFIX}{os.getpid()}-{self._run_id}-"
            self._dir = Path(tempfile.mkdtemp(prefix=name))
        self._files += 1
        path = self._dir / f"{self._files:06d}.parquet"
        # fast to write and to read back once; the file lives seconds to minutes
        frame.write_parquet(path, compression="lz4", statistics=False)
        return path

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _sweep() -> None:
    """Remove spill folders whose process is gone."""
    for left in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        pid = left.name.removeprefix(_PREFIX).split("-", 1)[0]
        if left.is_dir() and (not pid.isdigit() or not alive(int(pid), None)):
            shutil.rmtree(left, ignore_errors=True)
