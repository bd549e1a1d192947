"""Where answers are checked, programs are checked too: the trace check (reply + tests ->
Judgement), the reward value of a Judgement, and pass@k by execution. Sandbox errors are never
scored: the reward is None (TRL leaves the sample out), pass@k drops the sample from n.

    with Executor() as ex:
        judgements = check_replies(ex, replies, specs)        # trace filter, eval grader
        rewards = [reward_value(j, "fraction") for j in judgements]
        score = pass_at_k([[...judgements of problem 1...], ...], k=1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from quality.execute.executor import Executor
from quality.execute.extract import PYTHON_TAGS, extract_program
from quality.execute.spec import Judgement, TestSpec, Verdict

RewardMode = Literal["fraction", "all"]
NO_PROGRAM = "no program in the reply"


def _spec(tests: TestSpec | str) -> TestSpec:
    return tests if isinstance(tests, TestSpec) else TestSpec.from_json(tests)


def _no_program(spec: TestSpec, isolation: str) -> Judgement:
    return Judgement.every_test(Verdict.syntax_error, spec.total, isolation, 0.0, NO_PROGRAM)


def check_replies(
    executor: Executor,
    replies: Sequence[str],
    tests: Sequence[TestSpec | str],
    *,
    languages: tuple[str, ...] | None = PYTHON_TAGS,
    progress: bool = False,
) -> list[Judgement]:
    """Judge the program in each reply (its last fenced block) against its tests, in one batch.
    A reply with no program is a syntax error, judged without running anything."""
    if len(replies) != len(tests):
        raise ValueError(f"{len(replies)} replies but {len(tests)} test specs")
    specs = [_spec(t) for t in tests]
    programs = [extract_program(r or "", languages) for r in replies]
    found = [(i, p) for i, p in enumerate(programs) if p is not None]
    todo = [i for i, _ in found]
    judged = executor.judge_many([(p, specs[i]) for i, p in found], progress=progress)
    out = [_no_program(s, executor.isolation) for s in specs]
    for i, judgement in zip(todo, judged, strict=True):
        out[i] = judgement
    return out


def check_reply(executor: Executor, reply: str, tests: TestSpec | str) -> Judgement:
    """The trace-level check: the program in `reply` against `tests` (a TestSpec or its JSON)."""
    return check_replies(executor, [reply], [tests])[0]


def reward_value(judgement: Judgement, mode: RewardMode = "fraction") -> float | None:
    """Fraction of tests passed, or 1/0 for all-pass; None for a sandbox error (not scored)."""
    if judgement.verdict == Verdict.sandbox_error:
        return None
    if mode == "all":
        return 1.0 if judgement.verdict == Verdict.accepted else 0.0
    if mode == "fraction":
        return judgement.fraction
    raise ValueError(f"reward mode: expected 'fraction' or 'all', got {mode!r}")


def pass_at_k_estimate(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem from n samples of which c passed (Chen et al. 2021):
    1 - C(n-c, k) / C(n, k), as a stable product."""
    if not 0 <= c <= n or k < 1 or n < k:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k(groups: Sequence[Sequence[Judgement]], k: int) -> float:
    """Mean pass@k over problems, each given as the Judgements of its n samples. Sandbox errors
    leave the sample out of n; a problem left with fewer than k samples is an error, not a 0."""
    if not groups:
        raise ValueError("pass@k of no problems")
    scores = []
    for i, group in enumerate(groups):
        scored = [j for j in group if j.verdict != Verdict.sandbox_error]
        if len(scored) < k:
            raise ValueError(
                f"problem {i}: {len(scored)} judged samples (of {len(group)}) for pass@{k}"
            )
        passed = sum(j.verdict == Verdict.accepted for j in scored)
        scores.append(pass_at_k_estimate(len(scored), passed, k))
    return float(np.mean(scores))
