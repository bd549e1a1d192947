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

    def judge(self, program: str, tests: TestSpec, *, limits: Limits | None = None) -> Judgement:
        return self.judge_many([(program, tests)], limits=limits)[0]

    def judge_many(
        self,
        pairs: Sequence[tuple[str, TestSpec]],
        *,
        progress: bool = False,
        limits: Limits | Sequence[Limits] | None = None,
    ) -> list[Judgement]:
        """Judgements in the order of `pairs`. `limits`: one for all, or one per pair (e.g. from
        each problem's reference time); default the executor's."""
        per_pair = self._limits_for(len(pairs), limits)
        keys = [
            judgement_key(p, t, lim, self.isolation)
            for (p, t), lim in zip(pairs, per_pair, strict=True)
        ]
        found = {k: self._memo[k] for k in keys if k in self._memo}
        if self._cache is not None:
            missing = [k for k in dict.fromkeys(keys) if k not in found]
            found.update(self._cache.get_many(missing))
        todo = {
            k: (*pair, lim)
            for k, pair, lim in zip(keys, pairs, per_pair, strict=True)
            if k not in found
        }
        if todo:
            found.update(self._run_all(todo, progress))
        return [found[k] for k in keys]

    def _limits_for(self, n: int, limits: Limits | Sequence[Limits] | None) -> list[Limits]:
        if limits is None:
            return [self.limits] * n
        if isinstance(limits, Limits):
            return [limits] * n
        if len(limits) != n:
            raise ValueError(f"{n} programs but {len(limits)} limits")
        return list(limits)

    def _run_all(
        self, todo: dict[str, tuple[str, TestSpec, Limits]], progress: bool
    ) -> dict[str, Judgement]:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="judging programs", unit="program")
        results: dict[str, Judgement] = {}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            futures = {pool.submit(self._judge_one, *job): key for key, job in todo.items()}
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

    def _judge_one(self, program: str, spec: TestSpec, limits: Limits) -> Judgement:
        judgement = self._run(program, spec, limits)
        for _ in range(SANDBOX_RETRIES):
            if judgement.verdict != Verdict.sandbox_error:
                break
            judgement = self._run(program, spec, limits)
        for _ in range(limits.tle_reruns):
            if judgement.verdict != Verdict.time_limit:
                break
            again = self._run(program, spec, limits)
            if again.verdict != Verdict.sandbox_error:
                judgement = again
        return judgement

    def _run(self, program: str, spec: TestSpec, limits: Limits) -> Judgement:
        with self._lock:
            self.executed += 1
        return run_once(program, spec, limits, self.isolation)
