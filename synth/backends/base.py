"""The one interface every model backend implements: sample tasks in, completions out."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from synth.models import ModelConfig


@dataclass(slots=True)
class ChatRequest:
    """A chat request (`messages`) or a raw completion request (`prompt`, for base models).

    Sampling fields left as None take the model config's `params`, then the built-in defaults.
    Sample i of a request is drawn with seed `seed + i`, so every sample is reproducible on its own.
    """

    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: list[str] | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("a request needs exactly one of `messages` or `prompt`")
        if self.n < 1:
            raise ValueError("n must be >= 1")


@dataclass(slots=True, frozen=True)
class Sampling:
    """Effective sampling parameters of one sample (request values merged over config defaults)."""

    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    stop: tuple[str, ...] | None


@dataclass(slots=True)
class SampleTask:
    """One sample of one request: the unit that is sent, cached and retried."""

    request_index: int
    sample_index: int
    messages: list[dict[str, str]] | None
    prompt: str | None
    sampling: Sampling
    key: str = ""

    def canonical(self) -> dict[str, Any]:
        s = self.sampling
        return {
            "messages": self.messages,
            "prompt": self.prompt,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": s.seed,
            "stop": list(s.stop) if s.stop else None,
            "sample_index": self.sample_index,
        }

    def prompt_chars(self) -> int:
        if self.prompt is not None:
            return len(self.prompt)
        return sum(len(m.get("content") or "") for m in self.messages or ())


@dataclass(slots=True)
class Completion:
    """One finished sample. `error` is set (and text empty) when the request failed for good."""

    text: str = ""
    reasoning: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    error: str | None = None
    attempts: int = 1
    cached: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> str:
        # fields() walk instead of dataclasses.asdict: asdict deep-copies, ~5x slower here
        return json.dumps({f: getattr(self, f) for f in _PAYLOAD_FIELDS}, ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: str) -> Completion:
        return cls(**json.loads(payload), cached=True)


_PAYLOAD_FIELDS = tuple(f.name for f in fields(Completion) if f.name != "cached")


class Sink(Protocol):
    """What a backend reports to: admission (budget) before sending, results after."""

    cache: Any  # the RequestCache or None; the Batch API mode keeps its batch ids there

    def admit(self, task: SampleTask) -> bool:
        """Reserve budget for a task; False means stop sending new requests."""
        ...

    def emit(self, task: SampleTask, completion: Completion) -> None: ...

    def tick(self) -> None:
        """Called periodically by async backends so buffered cache writes are flushed on time."""
        ...


def admitted_tasks(tasks: Sequence[SampleTask], sink: Sink) -> list[SampleTask]:
    """The leading tasks `sink` admits, up to its first refusal (the budget ran out): what a
    batched backend may generate at once."""
    out = []
    for task in tasks:
        if not sink.admit(task):
            break
        out.append(task)
    return out


class Backend(ABC):
    name: str = ""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    @abstractmethod
    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        """Generate every task, calling `sink.admit` before and `sink.emit` after each one."""

    def bind(self, store: Any) -> None:  # noqa: B027 - optional hook
        """Called by `model_session` with its store: a backend that answers from the store (the
        synthetic teacher) keeps it; the others ignore it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients; backends that hold nothing need not override it."""
