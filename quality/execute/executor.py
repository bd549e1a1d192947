"""The executor: many programs x tests on a pool sized to the cores, each program in its own
sandbox, results cached so a re-run executes nothing it has judged.

    with Executor() as ex:
        judgement = ex.judge(program, TestSpec.from_json(tests_json))
        many = ex.judge_many([(program, spec), ...], progress=True)

Two rules keep infrastructure from being scored as the program's fault:
- a sandbox error is retried (`sandbox_retries` times) and, if it stays, comes back as
  `sandbox_error`, which callers skip rather than score as wrong;
- a time-out is re-run (`Limits.tle_reruns`) before it counts: a loaded CPU slows a right program,
  it does not make it wrong.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from types import TracebackType

from quality.execute._run import run_once
from quality.execute.cache import JudgementCache, judgement_key
from quality.execute.isolation import isolation_available, require_isolation
from quality.execute.spec import Judgement, Limits, TestSpec, Verdict

SANDBOX_RETRIES = 2


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class Executor:
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        workers: int | None = None,
        allow_unsandboxed: bool = False,
        cache_dir: Path | str | None = None,
        isolation: str | None = None,
    ) -> None:
        """`isolation` pins one ("namespaces", "bubblewrap", "none") instead of the strongest
        available; it must work here (and "none" must be allowed)."""
        if workers is not None and workers < 1:
            raise ValueError(f"workers: expected at least 1, got {workers}")
        self.limits = limits or Limits()
        self.isolation = (
            isolation_available(allow_unsandboxed)
            if isolation is None
            else require_isolation(isolation, allow_unsandboxed)
        )
        self.workers = workers or _cores()
        self._cache = JudgementCache(cache_dir) if cache_dir is not None else None
        self._memo: dict[str, Judgement] = {}
        self._lock = threading.Lock()
        self.executed = 0  # programs actually run (not served from a cache), retries included

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def judge(self, program: str, tests: TestSpec) -> Judgement:
        return self.judge_many([(program, tests)])[0]

    def judge_many(
        self, pairs: Sequence[tuple[str, TestSpec]], *, progress: bool = False
    ) -> list[Judgement]:
        keys = [judgement_key(p, t, self.limits, self.isolation) for p, t in pairs]
        found = {k: self._memo[k] for k in keys if k in self._memo}
        if self._cache is not None:
            missing = [k for k in dict.fromkeys(keys) if k not in found]
            found.update(self._cache.get_many(missing))
        todo = {k: pair for k, pair in zip(keys, pairs, strict=True) if k not in found}
        if todo:
            found.update(self._run_all(todo, progress))
        return [found[k] for k in keys]

    def _run_all(
        self, todo: dict[str, tuple[str, TestSpec]], progress: bool
    ) -> dict[str, Judgement]:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="judging programs", unit="program")
        results: dict[str, Judgement] = {}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            futures = {pool.submit(self._judge_one, *pair): key for key, pair in todo.items()}
            try:
                for future in as_completed(futures):
                    key = futures[future]
                    judgement = future.result()
                    results[key] = judgement
                    self._remember(key, judgement)
                    if bar is not None:
                        bar.update()
            finally:
                for future in futures:
                    future.cancel()
                if bar is not None:
                    bar.close()
        return results

    def _remember(self, key: str, judgement: Judgement) -> None:
        if judgement.verdict == Verdict.sandbox_error:
            return
        with self._lock:
            self._memo[key] = judgement
            if self._cache is not None:
                self._cache.put(key, judgement)

    def _judge_one(self, program: str, spec: TestSpec) -> Judgement:
        judgement = self._run(program, spec)
        for _ in range(SANDBOX_RETRIES):
            if judgement.verdict != Verdict.sandbox_error:
                break
            judgement = self._run(program, spec)
        for _ in range(self.limits.tle_reruns):
            if judgement.verdict != Verdict.time_limit:
                break
            again = self._run(program, spec)
            if again.verdict != Verdict.sandbox_error:
                judgement = again
        return judgement

    def _run(self, program: str, spec: TestSpec) -> Judgement:
        with self._lock:
            self.executed += 1
        return run_once(program, spec, self.limits, self.isolation)
