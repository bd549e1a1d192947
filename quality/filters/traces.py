"""The trace filters, one small class each, all vectorized over a batch of traces.

Defining a class registers it (quality.filters.base). The think-block, repetition and truncation
rules are quality.filters.scorers', the same the GRPO rewards apply to a policy's completions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from quality.filters.base import TraceFilter
from quality.filters.scorers import render_trace, repetition_batch, think_problem, truncated_finish

if TYPE_CHECKING:
    from quality.filters.stage import FilterConfig


def _verdict(passed: pl.Expr, value: pl.Expr, reason: pl.Expr) -> list[pl.Expr]:
    return [passed.fill_null(False).alias("passed"), value.alias("value"), reason.alias("reason")]


class Delimiters(TraceFilter):
    """Reasoning present and non-empty; no stray <think>/</think> in the answer or nested in the
    reasoning (the export renders `<think>{reasoning}</think>{answer}` itself)."""

    name = "delimiters"
    reads = ("reasoning", "answer_text")

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        problem = think_problem(pl.col("reasoning"), pl.col("answer_text"))
        return traces.select(_verdict(problem.is_null(), pl.lit(None), problem))


class NotTruncated(TraceFilter):
    name = "not_truncated"
    reads = ("finish_reason",)

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        cut = truncated_finish(pl.col("finish_reason"))
        reason = pl.lit("finish_reason=length (hit the token limit)")
        return traces.select(_verdict(~cut, pl.lit(None), reason))


class LengthBounds(TraceFilter):
    """Completion tokens (or, when not reported, words of reasoning + answer) within bounds."""

    name = "length"
    reads = ("completion_tokens", "reasoning", "answer_text")

    def __init__(self, min_tokens: int = 1, max_tokens: int = 32_768) -> None:
        self.min_tokens, self.max_tokens = min_tokens, max_tokens

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        words = pl.concat_str(
            [pl.col("reasoning"), pl.col("answer_text")], separator=" ", ignore_nulls=True
        ).str.count_matches(r"\S+")
        n = pl.coalesce(pl.col("completion_tokens"), words).cast(pl.Float64)
        reason = (
            pl.when(n < self.min_tokens)
            .then(pl.format("{} tokens < min {}", n, pl.lit(self.min_tokens)))
            .otherwise(pl.format("{} tokens > max {}", n, pl.lit(self.max_tokens)))
        )
        ok = (n >= self.min_tokens) & (n <= self.max_tokens)
        return traces.select(_verdict(ok, n, reason))


class Repetition(TraceFilter):
    """Share of repeated word n-grams (quality.filters.scorers.repetition) in the trace as the
    export renders it, reasoning and answer: loops score high."""

    name = "repetition"
    reads = ("reasoning", "answer_text")

    def __init__(self, n: int = 10, max_ratio: float = 0.3) -> None:
        self.n, self.max_ratio = n, max_ratio

    @classmethod
    def from_config(cls, config: FilterConfig) -> TraceFilter:
        return cls(config.repetition_n, config.max_repetition)

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        text = traces.select(render_trace(pl.col("reasoning"), pl.col("answer_text")))
        ratio = repetition_batch(text.to_series().to_arrow(), self.n)
        value = pl.Series("value", ratio)
        reason = pl.format(
            "repeated {}-gram ratio {} > {}", pl.lit(self.n), value.round(3), pl.lit(self.max_ratio)
        )
        return pl.DataFrame({"passed": ratio <= self.max_ratio}).with_columns(
            value, reason.alias("reason")
        )


class AnswerVerified(TraceFilter):
    name = "answer_verified"
    reads = ("correct",)

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        reason = (
            pl.when(pl.col("correct").is_null())
            .then(pl.lit("not verified (no reference answer)"))
            .otherwise(pl.lit("answer does not match the reference"))
        )
        return traces.select(_verdict(pl.col("correct"), pl.lit(None), reason))


class Garbage(TraceFilter):
    """Language/garbage check on reasoning + answer. Fails on control or replacement characters,
    on mostly non-ASCII letters (the corpus language is English), or on mostly-symbol text.
    value = share of non-space characters that are letters or digits."""

    name = "garbage"
    reads = ("reasoning", "answer_text")

    def __init__(
        self,
        max_control: float = 0.01,
        max_non_ascii_letters: float = 0.3,
        min_word_chars: float = 0.5,
    ) -> None:
        self.max_control = max_control
        self.max_non_ascii = max_non_ascii_letters
        self.min_word_chars = min_word_chars

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        text = pl.concat_str(
            [pl.col("reasoning"), pl.col("answer_text")], separator="\n", ignore_nulls=True
        ).fill_null("")
        visible = text.str.count_matches(r"\S").cast(pl.Float64)
        control = text.str.count_matches(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uFFFD]") / visible
        letters = text.str.count_matches(r"\p{L}").cast(pl.Float64)
        non_ascii = ((letters - text.str.count_matches(r"[A-Za-z]")) / letters).fill_nan(0.0)
        word = (letters + text.str.count_matches(r"\p{N}")) / visible
        reason = (
            pl.when(visible == 0)
            .then(pl.lit("no visible text"))
            .when(control > self.max_control)
            .then(pl.format("control/replacement chars {}", control.round(3)))
            .when(non_ascii > self.max_non_ascii)
            .then(pl.format("non-ASCII letters {}", non_ascii.round(3)))
            .otherwise(pl.format("letters+digits only {} of visible chars", word.round(3)))
        )
        ok = (
            (visible > 0)
            & (control <= self.max_control)
            & (non_ascii <= self.max_non_ascii)
            & (word >= self.min_word_chars)
        )
        return traces.select(_verdict(ok, word.fill_nan(None), reason))
