"""The trace filters, one small class each, all vectorized over a batch of traces."""

from __future__ import annotations

import numpy as np
import polars as pl

from quality.filters.base import TraceFilter
from quality.ngrams import ngram_hashes
from quality.text import tokenize_batch

_THINK = r"</?think>"


def _verdict(passed: pl.Expr, value: pl.Expr, reason: pl.Expr) -> list[pl.Expr]:
    return [passed.fill_null(False).alias("passed"), value.alias("value"), reason.alias("reason")]


class Delimiters(TraceFilter):
    """Reasoning present and non-empty; no stray <think>/</think> in the answer or nested in the
    reasoning (the export renders `<think>{reasoning}</think>{answer}` itself)."""

    name = "delimiters"
    reads = ("reasoning", "answer_text")

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        empty = pl.col("reasoning").fill_null("").str.strip_chars() == ""
        in_answer = pl.col("answer_text").fill_null("").str.contains(_THINK)
        in_reasoning = pl.col("reasoning").fill_null("").str.contains(_THINK)
        reason = (
            pl.when(empty)
            .then(pl.lit("empty or missing reasoning"))
            .when(in_answer)
            .then(pl.lit("stray <think>/</think> in answer"))
            .when(in_reasoning)
            .then(pl.lit("nested <think>/</think> in reasoning"))
        )
        return traces.select(_verdict(~(empty | in_answer | in_reasoning), pl.lit(None), reason))


class NotTruncated(TraceFilter):
    name = "not_truncated"
    reads = ("finish_reason",)

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        cut = pl.col("finish_reason").fill_null("") == "length"
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
    """Share of repeated word n-grams in the reasoning (1 - distinct / total): loops score high."""

    name = "repetition"
    reads = ("reasoning",)

    def __init__(self, n: int = 10, max_ratio: float = 0.3) -> None:
        self.n, self.max_ratio = n, max_ratio

    def judge(self, traces: pl.DataFrame) -> pl.DataFrame:
        batch = tokenize_batch(traces["reasoning"].fill_null("").to_arrow())
        h, docs = ngram_hashes(batch, self.n)
        stats = (
            pl.DataFrame({"doc": docs, "h": h})
            .group_by("doc")
            .agg(pl.len().alias("total"), pl.col("h").n_unique().alias("distinct"))
        )
        ratio = np.zeros(traces.height)
        d = stats["doc"].to_numpy()
        ratio[d] = 1 - stats["distinct"].to_numpy() / stats["total"].to_numpy()
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
