"""Killable worker processes for math-verify checks off the main thread and for large batches.

A thread cannot be interrupted, and math-verify's signal timeout only works in the main thread,
so each check runs in a worker process (in *its* main thread, under the signal timer). If a check
is stuck in C code that signals cannot interrupt, the parent kills the worker after the timeout
plus a grace period, counts the check as False and starts a fresh worker.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import queue
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection

from quality.answers._mathverify import mv_equal_timed

_GRACE_S = 1.0  # beyond the check's own timer, before the worker is killed
_STARTUP_S = 120.0  # first import of sympy/math-verify in a fresh worker
_PRELOAD = ["quality.answers._mathverify"]


def _serve(conn: Connection) -> None:
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        predicted, reference, timeout_s = task
        conn.send(mv_equal_timed(predicted, reference, timeout_s))


def _context() -> mp.context.BaseContext:
    # fork is unsafe in a threaded parent; forkserver forks each worker from a clean process
    # that has already imported math-verify, so a replacement after a kill starts fast.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return mp.get_context("spawn")


def can_spawn() -> bool:
    return not mp.current_process().daemon


class _Worker:
    def __init__(self, ctx: mp.context.BaseContext) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self._ready = False

    def check(self, predicted: str, reference: str, timeout_s: float) -> bool | None:
        """Result, or None when the worker died or had to be killed (the check counts False)."""
        try:
            if not self._ready:
                if not self.conn.poll(_STARTUP_S) or self.conn.recv() != "ready":
                    self.close()
                    return None
                self._ready = True
            self.conn.send((predicted, reference, timeout_s))
            if self.conn.poll(timeout_s + _GRACE_S):
                return bool(self.conn.recv())
        except (EOFError, OSError, BrokenPipeError):
            pass
        self.close()
        return None

    @property
    def alive(self) -> bool:
        return self.proc.is_alive() and not self.conn.closed

    def close(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(timeout=2)
        except (OSError, BrokenPipeError):
            pass
        self.close()


class WorkerPool:
    """Thread-safe pool: any thread borrows a worker, runs checks, gives it back."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._all: list[_Worker] = []
        self._ctx: mp.context.BaseContext | None = None

    def _acquire(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._started < self.max_workers:
                self._started += 1
                self._ctx = self._ctx or _context()
                worker = _Worker(self._ctx)
                self._all.append(worker)
                return worker
        return self._idle.get()

    def _release(self, worker: _Worker) -> None:
        if worker.alive:
            self._idle.put(worker)
            return
        with self._lock:  # dead or killed: replace it now, a borrower may be waiting on _idle
            self._all.remove(worker)
            replacement = _Worker(self._ctx or _context())
            self._all.append(replacement)
        self._idle.put(replacement)

    def check(self, predicted: str, reference: str, timeout_s: float) -> bool:
        worker = self._acquire()
        try:
            return bool(worker.check(predicted, reference, timeout_s))
        finally:
            self._release(worker)

    def check_many(
        self, pairs: Sequence[tuple[str, str]], timeout_s: float, parallel: int
    ) -> list[bool]:
        results = [False] * len(pairs)
        next_index = iter(range(len(pairs)))
        lock = threading.Lock()

        def drain() -> None:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                results[i] = self.check(pairs[i][0], pairs[i][1], timeout_s)

        threads = [threading.Thread(target=drain, daemon=True) for _ in range(max(1, parallel))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def shutdown(self) -> None:
        with self._lock:
            workers, self._all, self._started = self._all, [], 0
        for worker in workers:
            worker.stop()


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> WorkerPool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = WorkerPool(max_workers=max(1, os.cpu_count() or 1))
            atexit.register(_POOL.shutdown)
        return _POOL
