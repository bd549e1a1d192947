"""Stage runs in child processes that the crash tests SIGKILL (tests/store/test_crash.py).

The children are forked from a forkserver that has imported the store and the stages already,
so a child starts in milliseconds and the tests can kill many of them. A named kill point makes
a child SIGKILL itself at an exact place of its run; it is installed by patching the child's
own classes, so production code carries no test hook:

- `locked`: the writer lock is held and the transaction open, nothing written yet;
- `mid_insert`: the first table's rows are written to data/, the others not;
- `before_commit`: every row is written to data/, the catalog commit not made;
- `after_commit`: the lake commit is made, the journal not yet told;
- `hold`: like `mid_insert`, but the child waits (it touches `<store>/held`) to be killed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from store import Store
from store.run import Run

POINTS = ("locked", "mid_insert", "before_commit", "after_commit", "hold")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str | None, root: Path) -> None:
    """Make this process die (or wait to be killed) at `point` of its next run."""
    if point is None:
        return
    if point not in POINTS:
        raise ValueError(f"unknown kill point {point!r}")
    begin, insert, builtin, finish = (
        Run._begin,
        Run._insert_frame,
        Run._write_builtin,
        Store._finish,
    )

    def _begin(self: Run) -> None:
        begin(self)
        if point == "locked":
            _die()

    def _insert_frame(self: Run, *args: Any) -> int:
        inserted = insert(self, *args)
        if point == "hold":
            (root / "held").touch()
            time.sleep(3600)
        if point == "mid_insert":
            _die()
        return inserted

    def _write_builtin(self: Run) -> None:
        builtin(self)  # the last write before the catalog commit
        if point == "before_commit":
            _die()

    def _finish(self: Store, run: Run, status: str, **fields: object) -> None:
        if point == "after_commit" and status == "succeeded":
            _die()
        finish(self, run, status, **fields)

    Run._begin = _begin  # type: ignore[method-assign]
    Run._insert_frame = _insert_frame  # type: ignore[method-assign]
    Run._write_builtin = _write_builtin  # type: ignore[method-assign]
    Store._finish = _finish  # type: ignore[method-assign]


def seeds_add(root: Path, source: Path, point: str | None = None) -> None:
    from curate.seeds.ingest import IngestConfig, run_ingest

    install(point, root)
    with Store.open(root, lock_timeout_s=60) as store:
        run_ingest(store, IngestConfig(source=str(source), name="crash"))


def traces(root: Path, base_url: str, seed: int, point: str | None = None) -> None:
    """Two samples per seed from the loopback server; each `seed` is new work (a new teacher)."""
    from synth.models import ModelConfig
    from synth.traces import TracesConfig, run_traces

    install(point, root)
    teacher = ModelConfig(backend="openai", model="loopback", base_url=base_url, concurrency=2)
    with Store.open(root, lock_timeout_s=60) as store:
        run_traces(store, TracesConfig(teacher=teacher, samples=2, seed=seed))
