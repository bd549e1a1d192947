"""The `synthetic` teacher: writes the worked solution stored with a seed as its `<think>` trace.

A real run distils traces from an API teacher; this backend stands in for it offline and on a
CPU, so the whole pipeline (traces that verify, reasoning that is not empty, mixtures on their
defaults, SFT on real traces) runs end to end without a network or a strong model. It answers
a request whose user message is a seed's problem with that seed's `solution` (the synthetic
families write a step-by-step one for every seed, GSM8K and MATH seeds carry theirs) as the
reasoning and the seed's answer, boxed, as the final text. A request for anything else fails
with a reason (the traces stage records it as failed, nothing is invented).

It reads the seeds through the store the model session hands it (`bind`); only the `seeds`
table and its columns, as synth/traces.py does, so synth still imports nothing from curate.
Sample i opens with the i-th of a few phrasings, so several samples of one seed differ in text.

    teachable traces --teacher synthetic --samples 1
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from store.tables import SEEDS
from synth.backends.base import Backend, Completion, SampleTask, Sink

NO_SOLUTION = "the synthetic teacher has no worked solution for this item (seeds.solution)"
_OPENINGS = (
    "Let me work through this step by step.",
    "I will solve this one step at a time.",
    "Let me restate what is asked and work it out.",
    "Step by step, then a check.",
)
_CALCULATOR = re.compile(r"<<[^<>]*>>")  # GSM8K's calculator annotations: 48/2 = <<48/2=24>>24


def worked_trace(
    solution: str, answer: str, sample_index: int, answer_type: str | None = None
) -> tuple[str, str]:
    """(reasoning, final text) of one sample from a stored solution ("steps\\n#### answer" or a
    solution that ends in a boxed answer). A code seed's answer is its reference program: the
    final text is that program in a fenced block, what code verification extracts."""
    steps = [
        line.strip()
        for line in _CALCULATOR.sub("", solution.split("####")[0]).splitlines()
        if line.strip()
    ]
    opening = _OPENINGS[sample_index % len(_OPENINGS)]
    if answer_type == "code":
        reasoning = "\n".join([opening, *steps, "Check: the program follows these steps."])
        return reasoning, f"Here is the program:\n```python\n{answer.rstrip()}\n```"
    reasoning = "\n".join([opening, *steps, f"Check: the steps give {answer}."])
    last = steps[-1] if steps else ""
    return reasoning, f"{last}\nThe final answer is \\boxed{{{answer}}}.".strip()


class SyntheticBackend(Backend):
    name = "synthetic"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._store: Any = None

    def bind(self, store: Any) -> None:
        self._store = store

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        solutions = self._solutions({_problem(t) for t in tasks})
        for task in tasks:
            if not sink.admit(task):
                return
            found = solutions.get(_problem(task))
            if found is None:
                sink.emit(task, Completion(error=NO_SOLUTION, finish_reason="error"))
                continue
            solution, answer, answer_type = found
            reasoning, text = worked_trace(solution, answer, task.sample_index, answer_type)
            sink.emit(task, _completion(task, reasoning, text))

    def _solutions(self, problems: set[str]) -> dict[str, tuple[str, str, str | None]]:
        store = self._store
        if store is None or not problems or not store.has_table(SEEDS):
            return {}
        rows = store.sql(
            f"SELECT problem, solution, answer, answer_type FROM {store.ref(SEEDS)} "
            "WHERE solution IS NOT NULL AND answer IS NOT NULL AND list_contains(?, problem)",
            [sorted(problems)],
        )
        return {p: (s, a, t) for p, s, a, t in rows.iter_rows()}


def _problem(task: SampleTask) -> str:
    if task.messages:
        users = [m.get("content") or "" for m in task.messages if m.get("role") == "user"]
        return users[-1].strip() if users else ""
    return (task.prompt or "").strip()


def _completion(task: SampleTask, reasoning: str, text: str) -> Completion:
    """Words stand in for tokens; a trace longer than max_tokens is cut and has no answer, as a
    real teacher's would."""
    words = reasoning.split()
    limit = task.sampling.max_tokens
    if len(words) + len(text.split()) > limit:
        return Completion(
            text="",
            reasoning=" ".join(words[:limit]),
            finish_reason="length",
            completion_tokens=limit,
        )
    return Completion(
        text=text,
        reasoning=reasoning,
        finish_reason="stop",
        prompt_tokens=sum(len((m.get("content") or "").split()) for m in task.messages or ()),
        completion_tokens=len(words) + len(text.split()),
    )
