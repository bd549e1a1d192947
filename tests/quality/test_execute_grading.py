"""Trace checks and pass@k by execution, through the real executor."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from quality.execute import Case, Executor, Judgement, Limits, TestSpec, Verdict
from quality.execute.grading import (
    NO_PROGRAM,
    check_replies,
    check_reply,
    pass_at_k,
    pass_at_k_estimate,
    reward_value,
)

ECHO = TestSpec(judge="stdio", cases=(Case(input="hi\n", output="hi"), Case(input="x", output="x")))


@pytest.fixture(scope="module")
def ex() -> Iterator[Executor]:
    with Executor(Limits(test_wall_s=2.0), workers=2) as executor:
        yield executor


def test_trace_check(ex: Executor) -> None:
    good = "Read and print.\n```python\nprint(input())\n```"
    assert check_reply(ex, good, ECHO).verdict == Verdict.accepted
    assert check_reply(ex, good, ECHO.to_json()).verdict == Verdict.accepted  # JSON column
    missing = check_reply(ex, "print(input())", ECHO)
    assert (missing.verdict, missing.detail, missing.total) == (Verdict.syntax_error, NO_PROGRAM, 2)
    wrong = check_reply(ex, "```python\nprint('hi')\n```", ECHO)
    assert (wrong.verdict, wrong.passed) == (Verdict.wrong_answer, 1)
    with pytest.raises(ValueError, match="2 replies but 1"):
        check_replies(ex, [good, good], [ECHO])


def test_pass_at_k_estimator() -> None:
    assert pass_at_k_estimate(10, 0, 1) == 0.0
    assert pass_at_k_estimate(10, 10, 5) == 1.0
    assert pass_at_k_estimate(10, 3, 1) == pytest.approx(0.3)
    # the closed form: 1 - C(n-c, k) / C(n, k)
    assert pass_at_k_estimate(10, 3, 4) == pytest.approx(1 - math.comb(7, 4) / math.comb(10, 4))
    assert pass_at_k_estimate(5, 2, 4) == 1.0  # n - c < k
    for bad in ((3, 4, 1), (3, 1, 4), (3, 1, 0)):
        with pytest.raises(ValueError):
            pass_at_k_estimate(*bad)


def test_pass_at_k_by_execution(ex: Executor) -> None:
    samples = [
        ["```python\nprint(input())\n```", "```python\nprint('x')\n```", "no code"],
        ["```python\nimport sys\nprint(sys.stdin.read().strip())\n```"] * 3,
    ]
    groups = [check_replies(ex, replies, [ECHO] * len(replies)) for replies in samples]
    assert [sum(j.accepted for j in g) for g in groups] == [1, 3]
    assert pass_at_k(groups, 1) == pytest.approx((1 / 3 + 1) / 2)
    assert pass_at_k(groups, 3) == pytest.approx(1.0)
    # a sandbox error is not a failure: it leaves the sample out of n
    broken = Judgement(Verdict.sandbox_error, 0, 2, (Verdict.sandbox_error,) * 2, "none", 0.0)
    assert pass_at_k([groups[1] + [broken]], 3) == 1.0
    with pytest.raises(ValueError, match="problem 0: 2 judged samples"):
        pass_at_k([[groups[1][0], groups[1][1], broken]], 3)
    assert reward_value(broken) is None
    assert reward_value(groups[0][1], "fraction") == 0.5
    assert reward_value(groups[0][1], "all") == 0.0
