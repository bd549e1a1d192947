"""GRPO rewards in the Phi-4-reasoning-plus style, as plain TRL reward functions.

Each factory returns `fn(completions, **kwargs) -> list[float]` (TRL passes `prompts`,
`completion_ids` and every dataset column, e.g. `answer`, as keyword arguments). TRL sums them
with `reward_weights`; the defaults follow the report: accuracy and format dominate, repetition
is a small extra term.

- accuracy: answer after `</think>` checked against `answer` by quality's checker (a row with
  `tests`, a code row, by running its program against them in the sandbox), shaped by the
  completion's token length L with cosine schedules: correct answers earn `correct_max` up to
  `pos_control_length`, then decay towards `correct_min` at `max_length`; incorrect ones get
  `incorrect_min` at L=0, rising towards `incorrect_max` at `neg_control_length` and beyond
  (a long wrong attempt is penalized less than a short guess).
- format: `truncated_penalty` when the completion ran out of tokens (no EOS), `broken_penalty`
  when it is not one well-formed `<think>...</think>` block then the answer; else 0.
- repetition: minus `repetition_scale` times the share of repeated word n-grams.
- code (`code_reward`, `execution_reward(mode)`): the program in the answer run against the row's
  `tests` (TestSpec JSON) by quality.execute's sandbox; the share of tests passed or all-pass;
  None for rows without tests and for sandbox errors (TRL leaves those out).

The think-block, repetition and truncation rules are quality.filters.scorers', the ones the trace
filters apply to the stored traces, so a trace the filters keep is one these rewards do not
penalize for its form. trl.rewards ships rewards of the same names, not of the same meaning:
- `think_format_reward` accepts empty reasoning, a second `</think>` in the answer and no
  leading whitespace, and pays 1/0 instead of a penalty;
- `get_repetition_penalty_reward` is our formula (1 - distinct / total n-grams) over token ids;
  we count words, which stored traces have and ids they lack, and a test holds TRL's function
  fed word ids equal to ours;
- `get_cosine_scaled_reward` has one length scale and no plateau: the report's schedule keeps
  the full reward up to `pos_control_length` and ramps wrong answers over `neg_control_length`,
  and it checks the whole completion with math-verify alone, not the answer after `</think>`
  with quality's typed checker;
- `get_soft_overlong_punishment` (DAPO) penalizes length, not a cut-off completion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quality.filters.scorers import repetition_batch, think_problems, truncated_ids
from store.errors import ConfigError
from store.tables.traces import THINK_CLOSE

if TYPE_CHECKING:
    from quality.execute.grading import RewardMode

RewardFn = Callable[..., Sequence[float | None]]  # None: not scored (TRL skips it)


@dataclass
class RewardConstants:
    # Token lengths; the report's run used 31,744 / 25,600 / 3,702 at a 32K context.
    max_length: int = 31_744
    pos_control_length: int = 25_600
    neg_control_length: int = 3_702
    correct_max: float = 1.0
    correct_min: float = 0.5
    incorrect_max: float = -0.5
    incorrect_min: float = -1.0
    truncated_penalty: float = -0.5
    broken_penalty: float = -1.0
    ngram: int = 5
    repetition_scale: float = 1.0
    check_timeout_s: float = 5.0
    require_think: bool = True  # False: no </think> -> the whole completion is the answer


def completion_text(completion: str | Sequence[dict[str, Any]]) -> str:
    """TRL hands conversational completions as [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, str):
        return completion
    return "".join(str(message.get("content") or "") for message in completion)


def final_answer_text(text: str) -> str | None:
    """What follows the last `</think>`; None when the reasoning block never closed."""
    cut = text.rfind(THINK_CLOSE)
    return None if cut < 0 else text[cut + len(THINK_CLOSE) :]


def _lengths(texts: list[str], completion_ids: Sequence[Sequence[int]] | None) -> list[int]:
    if completion_ids is not None:
        return [len(ids) for ids in completion_ids]
    return [len(text.split()) for text in texts]  # only when TRL gives no ids (direct calls)


def cosine_length_reward(length: int, correct: bool, c: RewardConstants) -> float:
    if correct:
        span = max(c.max_length - c.pos_control_length, 1)
        rho = min(1.0, max(length - c.pos_control_length, 0) / span)
        return _cosine(rho, c.correct_max, c.correct_min)
    rho = min(1.0, length / max(c.neg_control_length, 1))
    return _cosine(rho, c.incorrect_min, c.incorrect_max)


def _cosine(rho: float, start: float, end: float) -> float:
    """`start` at rho=0, `end` at rho=1, half a cosine in between."""
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * rho))


def length_aware_accuracy(constants: RewardConstants | None = None) -> RewardFn:
    """The accuracy reward of a mixed math + code batch: a row with `tests` (a code row of the
    export) is correct when its program passes all of them in quality.execute's sandbox, any
    other row when quality's checker finds its answer equivalent to `answer`; both shaped by
    length the same way."""
    c = constants or RewardConstants()
    state: dict[str, Any] = {}  # the executor, started on the first code row

    def accuracy_reward(
        completions: list[Any],
        answer: list[str] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        answer_type: list[str | None] | None = None,
        tests: list[str | None] | None = None,
        **_: Any,
    ) -> list[float]:
        from quality.answers import check_batch, extract_answer

        if answer is None:
            raise ConfigError("the accuracy reward needs the dataset's `answer` column")
        texts = [completion_text(x) for x in completions]
        tails = [final_answer_text(text) for text in texts]
        if not c.require_think:
            tails = [
                text if tail is None else tail for text, tail in zip(texts, tails, strict=True)
            ]
        kinds = list(answer_type or [None] * len(texts))
        specs = list(tests or [None] * len(texts))
        code = [i for i, spec in enumerate(specs) if spec]  # code rows: judged by execution
        math = [i for i in range(len(texts)) if not specs[i]]
        verdicts: list[bool] = [False] * len(texts)
        predicted = [
            None if (tail := tails[i]) is None else extract_answer(tail, kinds[i]) for i in math
        ]
        checked = check_batch(
            predicted, [answer[i] for i in math], [kinds[i] for i in math],
            timeout_s=c.check_timeout_s,
        )  # fmt: skip
        for i, ok in zip(math, checked, strict=True):
            verdicts[i] = ok
        if code:
            judged = _programs_pass([tails[i] for i in code], [specs[i] for i in code], state)
            for i, ok in zip(code, judged, strict=True):
                verdicts[i] = ok
        lengths = _lengths(texts, completion_ids)
        return [cosine_length_reward(n, ok, c) for n, ok in zip(lengths, verdicts, strict=True)]

    return accuracy_reward


def _programs_pass(
    answers: list[str | None], specs: list[str | None], state: dict[str, Any]
) -> list[bool]:
    """All tests passed, per answer (None: no answer after `</think>`, not correct)."""
    from quality.execute import Executor
    from quality.execute.grading import check_replies

    if "executor" not in state:
        state["executor"] = Executor()
    rows = [
        (i, text, spec)
        for i, (text, spec) in enumerate(zip(answers, specs, strict=True))
        if text is not None and spec  # every row given here has tests
    ]
    passed = [False] * len(answers)
    judged = check_replies(
        state["executor"], [text for _, text, _ in rows], [spec for _, _, spec in rows]
    )
    for (i, _, _), judgement in zip(rows, judged, strict=True):
        passed[i] = judgement.accepted
    return passed


def format_penalty(
    eos_token_ids: Sequence[int] = (), constants: RewardConstants | None = None
) -> RewardFn:
    """Truncation is read from `completion_ids` (TRL keeps the EOS id at the end of a finished
    completion) or from a boolean `truncated` column when one is passed."""
    c = constants or RewardConstants()
    eos = tuple(eos_token_ids)

    def format_reward(
        completions: list[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        truncated: Sequence[bool] | None = None,
        **_: Any,
    ) -> list[float]:
        texts = [completion_text(x) for x in completions]
        if truncated is None:
            truncated = (
                truncated_ids(completion_ids, eos)
                if completion_ids is not None
                else [False] * len(texts)
            )
        problems = think_problems(texts)
        return [
            c.truncated_penalty if cut else c.broken_penalty if problem is not None else 0.0
            for cut, problem in zip(truncated, problems, strict=True)
        ]

    return format_reward


def repetition_penalty(constants: RewardConstants | None = None) -> RewardFn:
    c = constants or RewardConstants()

    def repetition_reward(completions: list[Any], **_: Any) -> list[float]:
        ratios = repetition_batch([completion_text(x) for x in completions], c.ngram)
        return [-c.repetition_scale * float(r) for r in ratios]

    return repetition_reward


def phi4_rewards(
    eos_token_ids: Sequence[int], constants: RewardConstants | None = None
) -> list[RewardFn]:
    """The three reward functions in the order GRPOConfig.reward_weights refers to them."""
    return [
        length_aware_accuracy(constants),
        format_penalty(eos_token_ids, constants),
        repetition_penalty(constants),
    ]


def execution_reward(
    mode: RewardMode = "fraction",
    *,
    limits: Any = None,
    workers: int | None = None,
    allow_unsandboxed: bool = False,
    cache_dir: str | None = None,
    require_think_close: bool = True,
) -> RewardFn:
    """GRPO reward for code: the program in the answer (the last fenced block after `</think>`)
    run against the row's `tests` column (TestSpec JSON) by quality.execute's sandboxed executor.
    `mode` "fraction" pays the share of tests passed, "all" pays 1 only when all pass. Rows
    without tests (other tasks in a mixed batch) and sandbox errors get None, which TRL leaves
    out of the sum, so infrastructure never counts as a wrong program. With
    `require_think_close`, an unclosed reasoning block earns 0 (as the accuracy reward does).
    The executor (a worker pool) starts on the first call."""
    if mode not in ("fraction", "all"):  # fails here, not mid-training
        raise ValueError(f"code reward mode: expected 'fraction' or 'all', got {mode!r}")
    state: dict[str, Any] = {}

    def code_reward(
        completions: list[Any], tests: Sequence[str | None] | None = None, **_: Any
    ) -> list[float | None]:
        from quality.execute import Executor
        from quality.execute.grading import check_replies, reward_value

        if tests is None:
            raise ValueError("the code reward needs the dataset's `tests` column (TestSpec JSON)")
        if "executor" not in state:
            state["executor"] = Executor(
                limits, workers=workers, allow_unsandboxed=allow_unsandboxed, cache_dir=cache_dir
            )
        texts = [completion_text(x) for x in completions]
        answers = [final_answer_text(t) if require_think_close else t for t in texts]
        out: list[float | None] = [None if not spec else 0.0 for spec in tests]
        rows = [
            (i, text, spec)
            for i, (text, spec) in enumerate(zip(answers, tests, strict=True))
            if spec and text is not None
        ]
        judged = check_replies(
            state["executor"], [text for _, text, _ in rows], [spec for _, _, spec in rows]
        )
        for (i, *_texts), judgement in zip(rows, judged, strict=True):
            out[i] = reward_value(judgement, mode)
        return out

    return code_reward


# `code_reward(completions, tests, **kwargs)`: the default (fraction of tests passed).
code_reward = execution_reward()
