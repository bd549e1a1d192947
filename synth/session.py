"""The model side of the stage kit: a backend and the store's request cache, opened together.

Every stage that calls a model does it through one `model_session`, so every model call goes
through the request cache (a crashed or re-run stage never pays twice), shows the same progress
bar, and adds to one set of call statistics for the run record.

Usage:
    with store.run(PROXY_STAGE, config) as run, model_session(store, config.model) as models:
        result = models.generate(requests)          # GenerateResult
        run.count_all(models.stats)                 # sent, cached, failed, retries, ...

A session whose samples failed fails its stage: when every sample it asked for failed, or
more than `max_failed_share` of them (`FailurePolicy`, a field of every model stage's config),
leaving the session raises `SamplesFailedError`, so the run is journaled `failed` and the CLI
exits non-zero instead of recording an empty success. The request cache keeps every finished
sample, so the re-run pays only for the failed ones.

Progress bars are on unless TEACHABLE_PROGRESS=0 (or `set_progress(False)`); they are a matter
of display, not of a stage's config. So is the engine (store.engine: `--engine ray` or
TEACHABLE_ENGINE=ray): a session opened from a model config gets its backend from
`synth.engine.engine_backend`, which runs the calls on a Ray cluster with the same cache keys and
the same results; a ready backend passed in (a test's fault injector) always runs here.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from store.errors import StageFailedError
from synth.backends import Backend, ChatRequest
from synth.cache import RequestCache
from synth.engine import engine_backend
from synth.generate import Budget, GenerateResult, generate
from synth.models import ModelConfig, resolve_model_config

_PROGRESS: bool | None = None
# stats of a generate call that add up over the calls of a run
_SUMMED = ("sent", "cached", "failed", "retries", "tokens", "not_sent")


class SamplesFailedError(StageFailedError):
    """Too many of a stage's samples failed for its run to count as done."""


class FailurePolicy(BaseModel):
    """Mixed into the config of every stage that calls a model."""

    model_config = ConfigDict(use_attribute_docstrings=True, allow_inf_nan=False)

    max_failed_share: float = Field(default=1.0, ge=0, le=1)
    """Fail the run when more than this share of its samples failed (it always fails when
    every sample failed); e.g. 0.1 for at most 10%."""


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
    """One backend with the request cache; `generate` adds to `stats` and `errors`."""

    backend: Backend
    cache: RequestCache | None
    progress: bool = True
    stats: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # failure reason -> samples
    max_failed_share: float = 1.0

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
        self.errors.update(c.error for row in result.completions for c in row if c and c.error)
        return result

    def check_failures(self) -> None:
        """Raise SamplesFailedError when every sample failed, or more than the allowed share
        (samples not sent because a budget stopped the run are not failures)."""
        failed = self.stats["failed"]
        total = self.stats["sent"] + self.stats["cached"]
        if not failed or (failed < total and failed / total <= self.max_failed_share):
            return
        reason, times = self.errors.most_common(1)[0] if self.errors else ("unknown", failed)
        rule = "all" if failed == total else f"more than {self.max_failed_share:.0%}"
        raise SamplesFailedError(
            f"{self.config.model}: {failed} of {total} samples failed ({rule}; most often, "
            f"{times} times: {reason}). The run is recorded as failed; finished samples are "
            "kept in the request cache, so a re-run only sends the failed ones."
        )


@contextmanager
def model_session(
    store: Any,
    model: str | Path | ModelConfig | Backend | None,
    *,
    cache: bool = True,
    max_failed_share: float = 1.0,
    **params: object,
) -> Iterator[ModelSession]:
    """Open `model` (a config, YAML path, embedded name, None for SmolLM2, or a ready backend
    such as a test's fault injector) with sampling overrides `params`, and the request cache of
    `store`; both are closed when the block ends, whatever happens in it. A block that ends
    normally raises SamplesFailedError when too many samples failed (see FailurePolicy)."""
    owned = not isinstance(model, Backend)
    if isinstance(model, Backend):
        backend = model
    else:
        backend = engine_backend(resolve_model_config(model, **params))
    backend.bind(store)
    request_cache = RequestCache.for_store(store) if cache else None
    session = ModelSession(
        backend,
        request_cache,
        progress_enabled(),
        max_failed_share=max_failed_share,
    )
    try:
        yield session
    finally:
        try:
            if request_cache is not None:
                request_cache.close()
        finally:
            if owned:
                backend.close()
    session.check_failures()
