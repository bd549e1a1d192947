"""Reward functions on exact constructed inputs (TRL's call shape: completions + kwargs)."""

from __future__ import annotations

import polars as pl
import pytest

from quality.filters import Delimiters, Repetition
from quality.filters.scorers import render_trace
from quality.kernels.tokens import token_hash, words
from train.rewards import (
    RewardConstants,
    cosine_length_reward,
    format_penalty,
    length_aware_accuracy,
    phi4_rewards,
    repetition_penalty,
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


# Stored traces of every think-block class, with loops and prose (quality/test_scorers.py holds
# render_trace equal to the export's rendering and covers the edge classes of the rule itself).
TRACES = pl.DataFrame(
    {
        "trace_id": [f"t{i}" for i in range(8)],
        "reasoning": [
            "Add 3 and 4 to get 7.",
            "so the answer is maybe " * 30,
            None,
            "   ",
            "a <think> b",
            "a </think> b",
            "Add 3 and 4. " * 12,
            "Add 3 and 4 to get 7.",
        ],
        "answer_text": ["7", "7", "7", "7", "7", "7", "7 " * 20, "</think> 7"],
    }
)


def _rendered() -> list[str]:
    return TRACES.select(render_trace(pl.col("reasoning"), pl.col("answer_text"))).to_series()


def test_format_reward_agrees_with_the_delimiters_filter():
    kept = Delimiters()(TRACES)["passed"].to_list()
    scores = format_penalty([EOS], C)(_rendered().to_list(), completion_ids=[ids(5)] * 8)
    assert [s == 0.0 for s in scores] == kept
    assert set(scores) == {0.0, C.broken_penalty}


def test_repetition_reward_is_minus_the_repetition_filter_value():
    value = Repetition(n=C.ngram)(TRACES)["value"].to_list()
    scores = repetition_penalty(C)([conv(text) for text in _rendered()])
    assert scores == [-v for v in value]
    assert min(scores) < -0.5 and max(scores) == 0.0


def test_repetition_reward_is_trls_formula_over_words():
    rewards = pytest.importorskip("trl.rewards")
    texts = _rendered().to_list() + ["a b c d e " * 3, "too short", ""]
    trl_penalty = rewards.get_repetition_penalty_reward(ngram_size=C.ngram, max_penalty=-1.0)
    word_ids = [[token_hash(w) for w in words(text)] for text in texts]
    assert repetition_penalty(C)(texts) == trl_penalty(completion_ids=word_ids)
