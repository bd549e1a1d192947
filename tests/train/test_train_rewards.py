"""Reward functions on exact constructed inputs (TRL's call shape: completions + kwargs)."""

from __future__ import annotations

import pytest

from train.rewards import (
    RewardConstants,
    cosine_length_reward,
    format_penalty,
    length_aware_accuracy,
    phi4_rewards,
    repetition_penalty,
    repetition_score,
    think_block_ok,
)

C = RewardConstants(max_length=100, pos_control_length=60, neg_control_length=30)
EOS = 2


def ids(n: int, finished: bool = True) -> list[int]:
    """n completion token ids; a finished completion ends with EOS, as TRL hands them."""
    return [7] * (n - 1) + [EOS if finished else 7]


def conv(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_cosine_schedule_endpoints():
    assert cosine_length_reward(10, True, C) == pytest.approx(1.0)
    assert cosine_length_reward(60, True, C) == pytest.approx(1.0)
    assert cosine_length_reward(80, True, C) == pytest.approx(0.75)
    assert cosine_length_reward(100, True, C) == pytest.approx(0.5)
    assert cosine_length_reward(500, True, C) == pytest.approx(0.5)
    assert cosine_length_reward(0, False, C) == pytest.approx(-1.0)
    assert cosine_length_reward(15, False, C) == pytest.approx(-0.75)
    assert cosine_length_reward(30, False, C) == pytest.approx(-0.5)
    assert cosine_length_reward(90, False, C) == pytest.approx(-0.5)


def test_accuracy_prefers_short_correct_and_long_incorrect():
    reward = length_aware_accuracy(C)
    right = "<think>3 plus 4 is 7.</think>The answer is 7."
    wrong = "<think>3 plus 4 is 8.</think>The answer is 8."
    short_ok, long_ok, short_bad, long_bad = reward(
        [conv(right), conv(right), conv(wrong), conv(wrong)],
        answer=["7"] * 4,
        completion_ids=[ids(20), ids(95), ids(5), ids(40)],
    )
    assert short_ok > long_ok > 0
    assert 0 > long_bad > short_bad
    assert short_ok == pytest.approx(1.0)
    assert short_bad == pytest.approx(cosine_length_reward(5, False, C))


def test_accuracy_reads_the_answer_after_the_think_block():
    reward = length_aware_accuracy(C)
    # "7" appears only inside the reasoning: without a closed think block there is no answer.
    unclosed = "<think>3 plus 4 is 7"
    boxed = "<think>maybe 8? no.</think>\\boxed{7}"
    plain = ["<think>x</think>7", "<think>x</think>8"]
    scores = reward([unclosed, boxed, *plain], answer=["7"] * 4, completion_ids=[ids(10)] * 4)
    assert scores[0] < 0
    assert scores[1] == pytest.approx(1.0)
    assert scores[2] == pytest.approx(1.0)
    assert scores[3] < 0


def test_accuracy_needs_the_answer_column():
    with pytest.raises(ValueError, match="answer"):
        length_aware_accuracy(C)(["<think>a</think>1"])


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<think>reasoning</think>42", True),
        ("  \n<think>reasoning</think>42", True),
        ("reasoning</think>42", False),
        ("<think>reasoning 42", False),
        ("42", False),
        ("<think>a</think><think>b</think>42", False),
        ("</think><think>42", False),
        ("text before <think>a</think>42", False),
    ],
)
def test_think_block_rules(text: str, ok: bool):
    assert think_block_ok(text) is ok


def test_format_penalty_for_truncation_and_broken_delimiters():
    reward = format_penalty([EOS], C)
    good = "<think>a</think>7"
    scores = reward(
        [conv(good), conv(good), conv("7"), conv("<think>a</think></think>7")],
        completion_ids=[ids(10), ids(100, finished=False), ids(3), ids(8)],
    )
    assert scores == [0.0, C.truncated_penalty, C.broken_penalty, C.broken_penalty]


def test_format_penalty_takes_an_explicit_truncated_column():
    reward = format_penalty((), C)
    assert reward(["<think>a</think>7", "<think>a</think>7"], truncated=[False, True]) == [
        0.0,
        C.truncated_penalty,
    ]


def test_repetition_penalty_hits_a_looping_completion_only():
    reward = repetition_penalty(C)
    prose = (
        "<think>First add the units, then carry the ten into the next column and check the "
        "sum by subtracting one addend from it.</think>The answer is 42."
    )
    loop = "<think>" + "so the answer is maybe " * 30 + "</think>42"
    prose_score, loop_score = reward([conv(prose), conv(loop)])
    assert prose_score == 0.0
    assert loop_score < -0.9
    assert repetition_score("a b c d e " * 3) == 0.0  # below min_repeats occurrences
    assert repetition_score("too short") == 0.0


def test_phi4_rewards_have_trl_names_and_shapes():
    funcs = phi4_rewards([EOS], C)
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "format_reward", "repetition_reward"]
    completions = [conv("<think>a</think>7"), conv("loop " * 40)]
    for func in funcs:
        out = func(
            completions=completions,
            prompts=[[{"role": "user", "content": "q"}]] * 2,
            completion_ids=[ids(5), ids(40, finished=False)],
            answer=["7", "7"],
            trainer_state=None,
        )
        assert len(out) == 2 and all(isinstance(x, float) for x in out)
