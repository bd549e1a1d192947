"""The shared scorers: one think-block rule, one repetition formula, one truncation test.

The filter side judges stored (reasoning, answer_text) columns, the reward side the rendered
completion; these tests hold the two equal on traces rendered by the export itself.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from curate.export.chat import render
from quality.filters import (
    FILTER_NAMES,
    Delimiters,
    FilterConfig,
    LengthBounds,
    Repetition,
    TraceFilter,
    build_filters,
)
from quality.filters.base import FILTERS
from quality.filters.scorers import (
    render_trace,
    repetition,
    repetition_batch,
    think_block_ok,
    think_problems,
    truncated_finish,
    truncated_ids,
)


def _stored(pairs: list[tuple[str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(len(pairs))],
            "reasoning": [r for r, _ in pairs],
            "answer_text": [a for _, a in pairs],
        },
        schema={"trace_id": pl.String, "reasoning": pl.String, "answer_text": pl.String},
    )


def _export_rendered(traces: pl.DataFrame) -> list[str]:
    """The assistant message of each trace as the export writes it."""
    n = traces.height
    rows = traces.with_columns(
        id=pl.col("trace_id"),
        seed_id=pl.col("trace_id"),
        part=pl.lit("train"),
        domain=pl.lit("math"),
        band=pl.lit("teachable"),
        question=pl.lit("q"),
        answer=pl.lit("1"),
    )
    batch, _ = render(rows, "system")
    messages = batch.column("messages").to_pylist()
    return [messages[i][2]["content"] for i in range(n)]


# Classes of (reasoning, answer): well-formed; missing/blank reasoning (ASCII and Unicode
# spaces); a tag in either part, at either end, opening or closing; tag look-alikes that are not
# tags (case, missing bracket, split across the boundary); empty or missing answers.
EDGE_PAIRS: list[tuple[str | None, str | None]] = [
    ("2 + 2 = 4.", "The answer is 4."),
    ("multi\nline\nreasoning", "4"),
    ("r", None),
    ("r", ""),
    (None, "4"),
    ("", "4"),
    ("  \n\t ", "4"),
    ("\u3000\u00a0\u2009", "4"),
    ("\x1c", "4"),  # a Python str.isspace() character that Unicode does not call White_Space
    ("r", "</think> 4"),
    ("r", "<think>4"),
    ("r", "4 <think>"),
    ("a <think> b", "4"),
    ("a </think> b", "4"),
    ("</think>", "4"),
    ("<think>", "4"),
    ("r <", "/think> 4"),
    ("r </", "think> 4"),
    ("r <think", "> 4"),
    ("<THINK>r</THINK>", "4"),
    ("r </think", "4"),
    ("r", "think> 4"),
    (None, None),
]


def _random_pairs(n: int, seed: int = 0) -> list[tuple[str | None, str | None]]:
    pieces = ["<think>", "</think>", "<", ">", "/", "think", " ", "\n", "\u3000", "a", "4", ""]
    rng = random.Random(seed)

    def text() -> str | None:
        return None if rng.random() < 0.05 else "".join(rng.choices(pieces, k=rng.randint(0, 5)))

    return [(text(), text()) for _ in range(n)]


def test_render_trace_is_the_export_rendering():
    traces = _stored(EDGE_PAIRS)
    ours = traces.select(render_trace(pl.col("reasoning"), pl.col("answer_text"))).to_series()
    assert ours.to_list() == _export_rendered(traces)


@pytest.mark.parametrize("pairs", [EDGE_PAIRS, _random_pairs(3000)], ids=["edges", "random"])
def test_filter_verdict_equals_reward_format_decision(pairs):
    traces = _stored(pairs)
    verdicts = Delimiters()(traces)["passed"].to_list()
    decisions = [p is None for p in think_problems(_export_rendered(traces))]
    assert decisions == verdicts
    assert True in verdicts and False in verdicts


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
        ("<think> \n </think>42", False),
        ("<think>a</think>", True),
        ("", False),
    ],
)
def test_think_block_rules(text: str, ok: bool):
    assert think_block_ok(text) is ok


def test_think_problems_say_why():
    problems = think_problems(
        ["42", "<think></think>4", "<think>a</think></think>4", "<think>a</think>4"]
    )
    assert "no <think>" in problems[0] and "empty" in problems[1] and "answer" in problems[2]
    assert problems[3] is None


LOOP = "Wait, let me recheck the sum again. " * 40
REPETITION_TEXTS = [
    "",
    "   ",
    "one",
    "too short",
    "a b c d e " * 3,
    LOOP,
    "First add the units, then carry the ten into the next column and check the sum.",
    "<think>" + "so the answer is maybe " * 30 + "</think>42",
    "$\\frac{1}{2} + \\dfrac{1}{2} = 1$ and $\\left(\\frac{1}{2}\\right)$ again \\frac{1}{2}",
    "Решим: сумма равна сорока двум. Сумма равна сорока двум!",
    "x" * 500,
    "ab " * 3 + "\x00\x01 ab ab",
]


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_repetition_batch_equals_per_text(n, math_test_rows):
    texts = REPETITION_TEXTS + [row["solution"] for row in math_test_rows[:300]]
    batch = repetition_batch(texts, n).tolist()
    assert batch == [repetition(text, n) for text in texts]  # exactly, not approximately
    assert batch[: len(REPETITION_TEXTS)] == repetition_batch(REPETITION_TEXTS, n).tolist()


def test_repetition_values():
    # a loop of k words has k distinct n-grams among all its windows
    assert repetition("a b c " * 4, 2) == 1 - 3 / 11
    assert repetition("a b c d e " * 3, 5) == 1 - 5 / 11
    assert repetition(LOOP, 10) > 0.9
    assert repetition("too short", 5) == 0.0
    assert repetition("", 1) == 0.0
    assert repetition("The Sum, the sum.", 2) == 1 - 2 / 3  # words are case- and punctuation-free


def test_repetition_filter_scores_the_rendered_trace():
    traces = _stored(
        [("First compute 17 + 25 = 42.", "The answer is 42."), (LOOP, "42"), (None, None)]
    )
    values = Repetition(n=5, max_ratio=0.3)(traces)["value"].to_list()
    assert values == [repetition(text, 5) for text in _export_rendered(traces)]
    assert values[0] == 0.0 and values[1] > 0.8 and values[2] == 0.0


def test_truncation():
    frame = pl.DataFrame({"f": ["length", "stop", None, "content_filter"]})
    assert frame.select(truncated_finish(pl.col("f")))["f"].to_list() == [True, False, False, False]
    ids = [[5, 2], [5, 7], [], [3]]
    assert truncated_ids(ids, [2, 3]) == [False, True, True, False]
    assert truncated_ids(ids, []) == [False] * 4


# --- the filter registry ---


def test_registry_holds_the_built_in_filters_in_order():
    assert FILTER_NAMES == [
        "delimiters",
        "not_truncated",
        "length",
        "repetition",
        "answer_verified",
        "garbage",
    ]
    assert list(FILTERS) == FILTER_NAMES and FilterConfig().filters == FILTER_NAMES


def test_filter_parameters_come_from_the_config():
    length, rep = build_filters(
        FilterConfig(filters=["length", "repetition"], min_tokens=3, repetition_n=7)
    )
    assert isinstance(length, LengthBounds) and (length.min_tokens, length.max_tokens) == (
        3,
        32_768,
    )
    assert isinstance(rep, Repetition) and (rep.n, rep.max_ratio) == (7, 0.3)


@pytest.fixture
def scratch_registry():
    before = dict(FILTERS)
    yield
    FILTERS.clear()
    FILTERS.update(before)


def test_a_new_filter_is_one_class(scratch_registry):
    class ShortAnswer(TraceFilter):
        name = "short_answer"
        reads = ("answer_text",)

        def __init__(self, max_tokens: int = 10, max_chars: int = 50) -> None:
            self.max_tokens, self.max_chars = max_tokens, max_chars

        def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
            n = pl.col("answer_text").str.len_chars()
            return traces.select(
                passed=n <= self.max_chars, value=n, reason=pl.lit("answer too long")
            )

    assert FilterConfig().filters[-1] == "short_answer"
    (made,) = build_filters(FilterConfig(filters=["short_answer"], max_tokens=99))
    assert isinstance(made, ShortAnswer) and (made.max_tokens, made.max_chars) == (99, 50)
    out = made(_stored([("r", "4"), ("r", "x" * 60)]))
    assert out["passed"].to_list() == [True, False]


def test_a_taken_filter_name_is_refused(scratch_registry):
    with pytest.raises(TypeError, match="'length'"):

        class Other(TraceFilter):
            name = "length"
            reads = ()

            def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
                return traces
