"""Killable worker processes for math-verify checks off the main thread and for large batches.

A thread cannot be interrupted, and math-verify's signal timeout only works in the main thread,
so each check runs in a worker process (in *its* main thread, under the signal timer). If a check
is stuck in C code that signals cannot interrupt, the parent kills the worker after the timeout
plus a grace period, counts the check as False and starts a fresh worker.
"""

from __future__ import annotations

import atexit
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

_GRACE_S = 1.0  # beyond the check's own timer, before the worker is killed
_STARTUP_S = 120.0  # first import of sympy/math-verify in a fresh worker
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding quality/


class WorkerStartError(RuntimeError):
    """A worker process exited or hung before it was ready: the environment is broken."""


def can_spawn() -> bool:
    return os.name == "posix"


class _Worker:
    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "quality.answers._worker", str(to_child_r), str(from_child_w)]
        self.proc = subprocess.Popen(
            cmd, pass_fds=(to_child_r, from_child_w), env=env, stdin=subprocess.DEVNULL
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self._ready = False

    def check(self, predicted: str, reference: str, timeout_s: float) -> bool | None:
        """Result, or None when the worker died or had to be killed (the check counts False)."""
        if not self._ready:
            self._wait_ready()
        try:
            self._send.send((predicted, reference, timeout_s))
            if self._recv.poll(timeout_s + _GRACE_S):
                return bool(self._recv.recv())
        except (EOFError, OSError):
            pass
        self.close()
        return None

    def _wait_ready(self) -> None:
        try:
            ready = self._recv.poll(_STARTUP_S) and self._recv.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.close()
            raise WorkerStartError(
                f"answer-checker worker (pid {self.proc.pid}) did not start; see its stderr above"
            )
        self._ready = True

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self._recv.closed

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self._send.close()
        self._recv.close()

    def stop(self) -> None:
        try:
            self._send.send(None)
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.close()


class WorkerPool:
    """Thread-safe pool: any thread borrows a worker, runs checks, gives it back."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self.pid = os.getpid()
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._all: list[_Worker] = []

    def _acquire(self) -> _Worker:
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if self._started < self.max_workers:
                    self._started += 1
                    worker = _Worker()
                    self._all.append(worker)
                    return worker
            try:  # all busy: wait for one, but re-check the count in case one was discarded
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _release(self, worker: _Worker) -> None:
        if worker.alive:
            self._idle.put(worker)
            return
        with self._lock:  # dead or killed: replace it now, a borrower may be waiting on _idle
            self._all.remove(worker)
            replacement = _Worker()
            self._all.append(replacement)
        self._idle.put(replacement)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._all.remove(worker)
            self._started -= 1

    def check(self, predicted: str, reference: str, timeout_s: float) -> bool:
        worker = self._acquire()
        try:
            result = worker.check(predicted, reference, timeout_s)
        except WorkerStartError:
            self._discard(worker)
            raise
        self._release(worker)
        return bool(result)

    def check_many(
        self, pairs: Sequence[tuple[str, str]], timeout_s: float, parallel: int
    ) -> list[bool]:
        results = [False] * len(pairs)
        next_index = iter(range(len(pairs)))
        lock = threading.Lock()
        errors: list[BaseException] = []

        def drain() -> None:
            while not errors:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                try:
                    results[i] = self.check(pairs[i][0], pairs[i][1], timeout_s)
                except BaseException as exc:  # re-raised in the calling thread
                    errors.append(exc)

        threads = [threading.Thread(target=drain, daemon=True) for _ in range(max(1, parallel))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return results

    def shutdown(self) -> None:
        if os.getpid() != self.pid:  # inherited through fork: the workers are the parent's
            return
        with self._lock:
            workers, self._all, self._started = self._all, [], 0
        for worker in workers:
            worker.stop()


_MAX_DEFAULT_WORKERS = 8  # each worker holds sympy + math-verify (~100 MB resident)


def _default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, _MAX_DEFAULT_WORKERS))


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> WorkerPool:
    global _POOL
    with _POOL_LOCK:
        # a forked child (e.g. a data-loader worker) must not share its parent's pipes
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = WorkerPool(max_workers=_default_workers())
            atexit.register(_POOL.shutdown)
        return _POOL
