"""The model side of the stage kit: a backend and the store's request cache, opened together.

Every stage that calls a model does it through one `model_session`, so every model call goes
through the request cache (a crashed or re-run stage never pays twice), shows the same progress
bar, and adds to one set of call statistics for the run record.

Usage:
    with store.run("proxy", config) as run, model_session(store, config.model) as models:
        result = models.generate(requests)          # GenerateResult
        run.count_all(models.stats)                 # sent, cached, failed, retries, ...

Progress bars are on unless TEACHABLE_PROGRESS=0 (or `set_progress(False)`); they are a matter
of display, not of a stage's config.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.backends import Backend, ChatRequest, get_backend
from synth.cache import RequestCache
from synth.generate import Budget, GenerateResult, generate
from synth.models import ModelConfig, resolve_model

_PROGRESS: bool | None = None
# stats of a generate call that add up over the calls of a run
_SUMMED = ("sent", "cached", "failed", "retries", "tokens", "not_sent")


def set_progress(enabled: bool | None) -> None:
    """Show (True) or hide (False) model-call progress bars; None: from TEACHABLE_PROGRESS."""
    global _PROGRESS
    _PROGRESS = enabled


def progress_enabled() -> bool:
    if _PROGRESS is not None:
        return _PROGRESS
    return os.environ.get("TEACHABLE_PROGRESS", "1").lower() not in ("0", "false", "no", "off")


@dataclass
class ModelSession:
    """One backend with the request cache; `generate` adds to `stats`."""

    backend: Backend
    cache: RequestCache | None
    progress: bool = True
    stats: Counter[str] = field(default_factory=Counter)

    @property
    def config(self) -> ModelConfig:
        return self.backend.config

    def generate(
        self, requests: Sequence[ChatRequest], *, budget: Budget | None = None, label: str = ""
    ) -> GenerateResult:
        result = generate(
            self.backend,
            requests,
            cache=self.cache,
            budget=budget,
            progress=self.progress,
            label=label or self.config.model,
        )
        for name in _SUMMED:
            self.stats[name] += int(result.stats.get(name, 0))
        return result


@contextmanager
def model_session(
    store: Any,
    model: str | Path | ModelConfig | Backend | None,
    *,
    cache: bool = True,
    **params: object,
) -> Iterator[ModelSession]:
    """Open `model` (a config, YAML path, embedded name, None for SmolLM2, or a ready backend
    such as a test's fault injector) with sampling overrides `params`, and the request cache of
    `store`; both are closed when the block ends, whatever happens in it."""
    owned = not isinstance(model, Backend)
    backend = get_backend(resolve_model(model, **params)) if owned else model  # type: ignore[arg-type]
    backend.bind(store)  # type: ignore[union-attr]
    request_cache = RequestCache.for_store(store) if cache else None
    try:
        yield ModelSession(backend, request_cache, progress_enabled())  # type: ignore[arg-type]
    finally:
        try:
            if request_cache is not None:
                request_cache.close()
        finally:
            if owned:
                backend.close()  # type: ignore[union-attr]
