"""The code reward with TRL's call shape, through the real sandboxed executor."""

from __future__ import annotations

import pytest

from quality.execute import Case, TestSpec
from train.rewards import code_reward, execution_reward

SQUARE = TestSpec(
    judge="call",
    entry_point="square",
    cases=(Case(args=[2], expected=4), Case(args=[3], expected=9), Case(args=[0], expected=0)),
).to_json()


def reply(body: str) -> str:
    draft = "```python\ndef square(x): return -1\n```"  # code in the reasoning is not the answer
    return f"<think>let me see\n{draft}</think>\n```python\n{body}\n```"


RIGHT = reply("def square(x):\n    return x * x")
PARTLY = reply("def square(x):\n    return 2 * x")  # right for 2 and 0, wrong for 3
CRASH = reply("def square(x):\n    return 1 / 0")
NO_CODE = "<think>hmm</think>\nThe answer is x squared."
UNCLOSED = "<think>\n```python\ndef square(x):\n    return x * x\n```"


def test_fraction_and_all_pass() -> None:
    completions = [RIGHT, PARTLY, CRASH, NO_CODE, UNCLOSED]
    tests = [SQUARE] * len(completions)
    assert code_reward(completions, tests=tests) == pytest.approx([1.0, 2 / 3, 0.0, 0.0, 0.0])
    all_pass = execution_reward("all", workers=2)
    assert all_pass(completions, tests=tests) == [1.0, 0.0, 0.0, 0.0, 0.0]
    lenient = execution_reward("all", workers=2, require_think_close=False)
    # with no </think>, the code written in the open block is the answer
    assert lenient([UNCLOSED], tests=[SQUARE]) == [1.0]


def test_conversational_completions_and_rows_without_tests() -> None:
    conv = [[{"role": "assistant", "content": RIGHT}], [{"role": "assistant", "content": RIGHT}]]
    assert code_reward(conv, tests=[SQUARE, None]) == [1.0, None]  # None: not a code row


def test_misuse_fails_loudly() -> None:
    with pytest.raises(ValueError, match="mode"):
        execution_reward("half")
    with pytest.raises(ValueError, match="tests"):
        code_reward([RIGHT])
    with pytest.raises(ValueError, match="cases"):
        code_reward([RIGHT], tests=['{"judge": "call", "entry_point": "f", "cases": [{}]}'])


def test_the_accuracy_reward_judges_a_mixed_batch_by_domain() -> None:
    """A mixed math + code export feeds one accuracy reward: rows with tests are correct when
    their program passes all of them in the sandbox, the others by the answer checker."""
    from train.rewards import RewardConstants, length_aware_accuracy

    c = RewardConstants()
    accuracy = length_aware_accuracy(c)
    completions = [RIGHT, PARTLY, NO_CODE, "<think>2+2</think>\n\\boxed{4}", "<think>x</think> 5"]
    got = accuracy(
        completions,
        answer=["def square(x): ...", "def square(x): ...", "def square(x): ...", "4", "4"],
        answer_type=["code", "code", "code", "number", "number"],
        tests=[SQUARE, SQUARE, SQUARE, None, None],
        completion_ids=[[0] * 10] * 5,  # one length: the verdict alone sets the reward
    )
    assert got[0] == got[3] == pytest.approx(c.correct_max)  # all tests pass / 4 == 4
    assert got[1] == got[2] == got[4] < 0  # 2 of 3 tests / no program / 5 != 4
