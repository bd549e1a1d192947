import polars as pl
import pytest

from quality.filters import (
    AnswerVerified,
    Delimiters,
    FilterConfig,
    Garbage,
    LengthBounds,
    NotTruncated,
    Repetition,
    judge_all,
    run_filter,
)
from store import TableSpec
from store.tables import VERDICTS

GOOD_REASONING = (
    "First compute the sum of the two numbers: 17 + 25 = 42. Then check the parity: 42 is even, "
    "so it is divisible by 2, giving 21. Finally 21 = 3 * 7, so the answer is 21."
)
GOOD = {
    "trace_id": "t-good",
    "item_id": "s1",
    "item_table": "seeds",
    "reasoning": GOOD_REASONING,
    "answer_text": "The answer is \\boxed{21}.",
    "correct": True,
    "finish_reason": "stop",
    "completion_tokens": 80,
}


def _traces(*overrides: dict) -> pl.DataFrame:
    rows = [GOOD] + [{**GOOD, "trace_id": f"t{i}", **o} for i, o in enumerate(overrides)]
    return pl.DataFrame(rows, schema_overrides={"completion_tokens": pl.Int64})


def _judge(f, *overrides):
    out = f(_traces(*overrides))
    return out["passed"].to_list(), out["reason"].to_list(), out["value"].to_list()


def test_delimiters():
    passed, reason, _ = _judge(
        Delimiters(),
        {"reasoning": None},
        {"reasoning": "   "},
        {"answer_text": "</think> 21"},
        {"reasoning": "a <think> b"},
    )
    assert passed == [True, False, False, False, False]
    assert reason[0] is None and "empty" in reason[1] and "answer" in reason[3]
    assert "nested" in reason[4]


def test_not_truncated():
    passed, reason, _ = _judge(NotTruncated(), {"finish_reason": "length"}, {"finish_reason": None})
    assert passed == [True, False, True]
    assert "length" in reason[1]


def test_length_bounds_uses_tokens_then_words():
    passed, reason, value = _judge(
        LengthBounds(min_tokens=10, max_tokens=100),
        {"completion_tokens": 5},
        {"completion_tokens": 500},
        {"completion_tokens": None, "reasoning": "one two three", "answer_text": "four"},
    )
    assert passed == [True, False, False, False]
    assert value == [80.0, 5.0, 500.0, 4.0]
    assert "< min 10" in reason[1] and "> max 100" in reason[2]


def test_repetition_catches_loops():
    loop = GOOD_REASONING + " Wait, let me recheck the sum again." * 40
    passed, reason, value = _judge(Repetition(n=10, max_ratio=0.3), {"reasoning": loop})
    assert passed == [True, False]
    assert value[0] == 0.0 and value[1] > 0.8
    assert "ratio" in reason[1]


def test_answer_verified():
    passed, reason, _ = _judge(AnswerVerified(), {"correct": False}, {"correct": None})
    assert passed == [True, False, False]
    assert "does not match" in reason[1] and "no reference" in reason[2]


def test_garbage():
    passed, reason, value = _judge(
        Garbage(),
        {"reasoning": "$$ ++ {{ }} ## %% ^^ @@ !! ~~ $$ ++ {{ }} ##", "answer_text": "!"},
        {"reasoning": "Решим задачу: сумма равна сорока двум, ответ двадцать один."},
        {"reasoning": GOOD_REASONING + "\x00\x01\x02" * 10},
        {"reasoning": None, "answer_text": None},
    )
    assert passed == [True, False, False, False, False]
    assert value[0] > 0.5 and value[1] < 0.5
    assert "letters+digits" in reason[1] and "non-ASCII" in reason[2]
    assert "control" in reason[3] and "no visible" in reason[4]


def test_judge_all_gives_one_row_per_trace_and_filter():
    traces = _traces({"finish_reason": "length"})
    out = judge_all(traces, [Delimiters(), NotTruncated()])
    assert out.height == 4
    assert out.filter(passed=False).rows() == [
        ("t0", "not_truncated", False, None, "finish_reason=length (hit the token limit)")
    ]


TRACES_FOR_TESTS = TableSpec(
    "traces",
    {
        "trace_id": "VARCHAR",
        "item_id": "VARCHAR",
        "item_table": "VARCHAR",
        "reasoning": "VARCHAR",
        "answer_text": "VARCHAR",
        "correct": "BOOLEAN",
        "finish_reason": "VARCHAR",
        "completion_tokens": "INTEGER",
        "run_id": "VARCHAR",
    },
)


def test_run_filter_writes_verdicts_once(make_store):
    store = make_store(
        [(TRACES_FOR_TESTS, _traces({"finish_reason": "length"}, {"correct": False}))]
    )
    counts = run_filter(store, FilterConfig())
    assert counts["not_truncated_failed"] == 1 and counts["answer_verified_failed"] == 1
    verdicts = store.table("verdicts")
    assert set(verdicts.columns) == set(VERDICTS.columns)
    assert verdicts.height == 3 * 6
    failed = verdicts.filter(passed=False).sort("item_id")
    assert failed.select("item_id", "filter").rows() == [
        ("t0", "not_truncated"),
        ("t1", "answer_verified"),
    ]
    again = run_filter(store, FilterConfig())
    assert again.get("verdicts_inserted", 0) == 0 and again["length_judged"] == 0
    assert run_filter(store, FilterConfig(filters=["length"], rejudge=True))["length_judged"] == 3


def test_unknown_filter_is_a_clear_error(make_store):
    store = make_store([(TRACES_FOR_TESTS, _traces())])
    with pytest.raises(ValueError, match="unknown filter"):
        run_filter(store, FilterConfig(filters=["nope"]))
