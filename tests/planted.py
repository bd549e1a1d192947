"""A scripted model backend for tests that need a known reply no real model gives on demand:
a wrong answer, a planted test, a program of known correctness (fault injection, not a stand-in
for the real backends, which the other tests run)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from synth.backends.base import Backend, Completion, SampleTask, Sink
from synth.models import ModelConfig


class Planted(Backend):
    """Replies `reply(prompt, sample seed)`; `model` names it (and so its cache identity)."""

    name = "planted"

    def __init__(self, reply: Callable[[str, int], str], model: str = "planted") -> None:
        super().__init__(ModelConfig(model=model))
        self.reply = reply

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        for task in tasks:
            if not sink.admit(task):
                return
            text = task.messages[-1]["content"] if task.messages else task.prompt or ""
            reply = self.reply(text, task.sampling.seed or 0)
            sink.emit(task, Completion(text=reply, finish_reason="stop"))
