"""Run a batch of requests through a backend with the request cache, a budget and progress.

Usage:
    from synth import ChatRequest, generate, resolve_model_config
    result = generate(resolve_model_config("models/smollm2.yaml"),
                      [ChatRequest(messages=[{"role": "user", "content": "2+2?"}], n=4)],
                      cache=RequestCache.for_store(store), budget=Budget(max_tokens=100_000))
    result.completions[0][3].text      # request 0, sample 3 (None if the budget stopped first)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from synth.backends import get_backend
from synth.backends.base import Backend, ChatRequest, Completion, SampleTask
from synth.cache import RequestCache, request_key
from synth.models import ModelConfig


@dataclass
class Budget:
    """Spend limits for one run, counted over newly generated samples (cache hits are free).

    Before sending, each sample reserves its prompt tokens (estimated from its length: 1 token per
    3 chars at first, then the largest ratio finished samples showed) plus max_tokens; the run
    stops sending once the next reservation would pass a limit, so the limit holds with hundreds
    of requests in flight, up to the error of that prompt estimate. Requests already in flight
    finish and are kept.
    """

    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass
class GenerateResult:
    completions: list[list[Completion | None]]
    stats: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why the run stopped early (budget), else None


ResultHook = Callable[[SampleTask, Completion], None]


def generate(
    model: ModelConfig | Backend,
    requests: Sequence[ChatRequest],
    *,
    cache: RequestCache | None = None,
    budget: Budget | None = None,
    progress: bool = False,
    on_result: ResultHook | None = None,
    label: str = "samples",
) -> GenerateResult:
    backend = model if isinstance(model, Backend) else get_backend(model)
    groups: dict[str, list[SampleTask]] = {}
    for task in sample_tasks(backend, requests):
        groups.setdefault(task.key, []).append(task)
    sink = _Sink(backend, requests, groups, cache, budget or Budget(), on_result)
    hits = cache.get_many(list(groups)) if cache is not None else {}
    for key, completion in hits.items():
        sink.fill(groups[key], completion)
    n_hits = sum(len(groups[k]) for k in hits)
    with _progress(progress) as bar:
        if bar is not None:
            bar.add_task(label, total=sink.total, completed=n_hits)
            sink.bar = bar
        todo = [tasks[0] for key, tasks in groups.items() if key not in hits]
        try:
            with _flusher(cache):
                if todo:
                    backend.run(todo, sink)
        finally:
            if cache is not None:
                cache.flush()
    sink.stats["cached"] = n_hits
    sink.stats["not_sent"] = sum(c is None for row in sink.results for c in row)
    return GenerateResult(sink.results, dict(sink.stats), sink.stop_message())


def sample_tasks(backend: Backend, requests: Sequence[ChatRequest]) -> list[SampleTask]:
    """One task per (request, sample), with its effective sampling params and cache key."""
    identity = cache_identity(backend)
    tasks = []
    for i, req in enumerate(requests):
        for j in range(req.n):
            task = SampleTask(i, j, req.messages, req.prompt, backend.config.sampling(req, j))
            task.key = request_key(identity, task)
            tasks.append(task)
    return tasks


def cache_identity(backend: Backend) -> dict[str, Any]:
    """What besides the request decides the answer: backend and model identity, not URLs or keys."""
    return {"backend": backend.name, **backend.config.request_identity()}


class _Sink:
    def __init__(
        self,
        backend: Backend,
        requests: Sequence[ChatRequest],
        groups: dict[str, list[SampleTask]],
        cache: RequestCache | None,
        budget: Budget,
        on_result: ResultHook | None,
    ) -> None:
        self.backend, self.groups, self.cache, self.budget = backend, groups, cache, budget
        self.on_result = on_result
        self.results: list[list[Completion | None]] = [[None] * r.n for r in requests]
        self.total = sum(r.n for r in requests)
        self.stats: dict[str, int] = {"sent": 0, "failed": 0, "retries": 0, "tokens": 0}
        self.spent_tokens = 0
        self.spent_cost = 0.0
        self.reserved_tokens = 0
        self.reserved_cost = 0.0
        self.reservations: dict[int, tuple[int, float]] = {}
        self.stopped: str | None = None  # "token" or "cost" once a budget refused a sample
        # prompt tokens are unknown before sending: start at 1 token / 3 chars, then use the
        # largest ratio seen in finished samples
        self.tokens_per_char = 1 / 3
        self._observed_ratio = 0.0
        self.bar: Progress | None = None

    def admit(self, task: SampleTask) -> bool:
        if self.stopped:
            return False
        chars = task.prompt_chars()
        est_prompt = int(chars * self.tokens_per_char) + 4 * len(task.messages or ()) + 1
        tokens = est_prompt + task.sampling.max_tokens
        cost = self.backend.config.cost(est_prompt, task.sampling.max_tokens)
        b = self.budget
        over_tokens = b.max_tokens is not None and (
            self.spent_tokens + self.reserved_tokens + tokens > b.max_tokens
        )
        over_cost = b.max_cost_usd is not None and (
            self.spent_cost + self.reserved_cost + cost > b.max_cost_usd
        )
        if over_tokens or over_cost:
            self.stopped = "token" if over_tokens else "cost"
            return False
        self.reserved_tokens += tokens
        self.reserved_cost += cost
        self.reservations[id(task)] = (tokens, cost)
        return True

    def stop_message(self) -> str | None:
        if self.stopped is None:
            return None
        b, done = self.budget, self.total - self.stats["not_sent"]
        spent = (
            f"{self.spent_tokens:,} of {b.max_tokens:,} tokens"
            if self.stopped == "token"
            else f"${self.spent_cost:.4f} of ${b.max_cost_usd:.4f}"
        )
        return (
            f"{self.stopped} budget reached: {spent} spent; {done} of {self.total} samples "
            f"finished (kept), {self.stats['not_sent']} not sent. Raise the budget and re-run "
            "to continue: finished samples come from the request cache."
        )

    def emit(self, task: SampleTask, completion: Completion) -> None:
        tokens, cost = self.reservations.pop(id(task), (0, 0.0))
        self.reserved_tokens -= tokens
        self.reserved_cost -= cost
        self.spent_tokens += completion.prompt_tokens + completion.completion_tokens
        self.spent_cost += completion.cost_usd
        chars = task.prompt_chars()
        if completion.prompt_tokens and chars:  # learn the tokenizer's ratio, conservatively
            observed = completion.prompt_tokens / chars
            self.tokens_per_char = max(observed, self._observed_ratio)
            self._observed_ratio = self.tokens_per_char
        self.stats["sent"] += 1
        self.stats["failed"] += not completion.ok
        self.stats["retries"] += completion.attempts - 1
        self.stats["tokens"] += completion.prompt_tokens + completion.completion_tokens
        if self.cache is not None:
            self.cache.put(task.key, self.backend.name, self.backend.config.model, completion)
        self.fill(self.groups[task.key], completion)

    def fill(self, tasks: list[SampleTask], completion: Completion) -> None:
        for t in tasks:
            self.results[t.request_index][t.sample_index] = completion
            if self.on_result is not None:
                self.on_result(t, completion)
        if self.bar is not None:
            self.bar.advance(TaskID(0), len(tasks))

    def tick(self) -> None:
        if self.cache is not None:
            self.cache.tick()


@contextmanager
def _flusher(cache: RequestCache | None) -> Iterator[None]:
    """Commit buffered results every flush interval from a helper thread, whatever the backend
    does meanwhile (a long llama.cpp generation, an event loop at full load)."""
    if cache is None:
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(cache.flush_interval_s):
            cache.tick()

    thread = threading.Thread(target=loop, name="cache-flusher", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class _RateColumn(ProgressColumn):
    """Samples per second: rich's recent-window speed while running, the whole run's average
    once finished (a batched backend returns its samples in bursts, and the window's speed at
    the last burst read tens of thousands a second)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed
        if task.finished and elapsed:
            speed: float | None = task.completed / elapsed
        else:
            speed = task.speed
        return Text(f"{speed:,.1f}/s" if speed else "-/s", style="progress.data.speed")


class _NullProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool) -> Any:
    if not enabled:
        return _NullProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
