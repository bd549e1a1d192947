"""Scorers shared by the trace filters (quality.filters) and the GRPO rewards (train.rewards).

One definition each of a well-formed think block, of how repetitive a text is and of a
truncated completion, so that a filter verdict and a reward cannot disagree about one trace.

The two sides see a trace in two shapes. The store keeps `reasoning` and `answer_text` apart;
the export renders them as `<think>{reasoning}</think>{answer_text}` (curate.export.chat), and
that rendered text is what a policy learns to write and what the rewards read. Each rule below
is written once, as a Polars expression over the stored columns, and the rendered form is first
parsed back into those columns; tests hold filter verdicts and reward decisions equal on traces
rendered by the export itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from quality.kernels.ngrams import ngram_hashes
from quality.kernels.tokens import tokenize_batch, words
from store.tables.traces import THINK_CLOSE, THINK_OPEN

# --- think blocks -------------------------------------------------------------------------------

EMPTY_REASONING = "empty or missing reasoning"
STRAY_IN_ANSWER = "stray <think>/</think> in answer"
NESTED_IN_REASONING = "nested <think>/</think> in reasoning"
NO_THINK_BLOCK = "no <think>...</think> block at the start"

_TAG = f"{THINK_OPEN}|{THINK_CLOSE}"  # neither tag contains a regex metacharacter
# Leading whitespace is allowed (a chat template may emit a newline before the block).
_OPENING = rf"^\s*{THINK_OPEN}"


def think_problem(reasoning: pl.Expr, answer: pl.Expr) -> pl.Expr:
    """Why (reasoning, answer) would not render to a well-formed think block, null when it would.

    Well-formed: the reasoning has a visible character (not only Unicode White_Space, the set
    Rust's `\\s` matches) and neither part contains `<think>` or `</think>`.
    """
    r, a = reasoning.fill_null(""), answer.fill_null("")
    return (
        pl.when(~r.str.contains(r"\S"))
        .then(pl.lit(EMPTY_REASONING))
        .when(a.str.contains(_TAG))
        .then(pl.lit(STRAY_IN_ANSWER))
        .when(r.str.contains(_TAG))
        .then(pl.lit(NESTED_IN_REASONING))
    )


def rendered_think_problem(text: pl.Expr) -> pl.Expr:
    """`think_problem` of a completion `<think>R</think>A`, split at its first `</think>`.

    The tags cannot overlap one another, so splitting a rendered trace gives back exactly the
    stored reasoning and answer whenever neither holds a tag, and a tag inside either one lands
    in the split reasoning or answer and fails the rule there. Literal splits, not a capturing
    regex: that took 40 ms per 100K-character completion.
    """
    parts = text.fill_null("").str.splitn(THINK_CLOSE, 2)
    head, answer = parts.struct.field("field_0"), parts.struct.field("field_1")
    opened = head.str.contains(_OPENING) & answer.is_not_null()
    return (
        pl.when(~opened)
        .then(pl.lit(NO_THINK_BLOCK))
        .otherwise(think_problem(head.str.replace(_OPENING, ""), answer))
    )


def render_trace(reasoning: pl.Expr, answer: pl.Expr) -> pl.Expr:
    """The assistant text the export writes for a stored trace (a test holds it to the export)."""
    return pl.concat_str(
        pl.lit(THINK_OPEN), reasoning.fill_null(""), pl.lit(THINK_CLOSE), answer.fill_null("")
    )


def think_problems(texts: Sequence[str]) -> list[str | None]:
    """`rendered_think_problem` for a list of completion texts (what a reward holds)."""
    frame = pl.DataFrame({"text": list(texts)}, schema={"text": pl.String})
    return frame.select(rendered_think_problem(pl.col("text")).alias("problem"))[
        "problem"
    ].to_list()


def think_block_ok(text: str) -> bool:
    return think_problems([text])[0] is None


# --- repetition ---------------------------------------------------------------------------------


def repetition(text: str, n: int) -> float:
    """Share of the text's word n-grams that repeat an earlier one: 1 - distinct / total.

    0 for text without a repeated n-gram or with fewer than n words; tends to 1 for a loop (a
    cycle of k n-grams repeated m times scores 1 - k / (k m)). This is the formula of TRL's
    `get_repetition_penalty_reward` (Demystifying Long CoT, appendix C.2) and the trace filter's
    of old. It replaced the reward's second formula (the share of n-grams held by n-grams seen
    more than `min_repeats` times) because it has one parameter, has no cliff at a repeat count,
    and is one group-by in the batch form. Words are quality.kernels.tokens's (lowercased, LaTeX
    commands folded, punctuation separates): the stored traces that the filters judge have no
    token ids.

    This is the readable reference; `repetition_batch` computes the same numbers for a batch.
    """
    tokens = words(text)
    grams = list(zip(*(tokens[i:] for i in range(n)), strict=False))
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def repetition_batch(texts: Sequence[str] | pa.Array | pa.ChunkedArray, n: int) -> np.ndarray:
    """`repetition` of every text of a batch, from one tokenizing pass and one group-by.

    An n-gram is its 64-bit rolling hash (quality.kernels.ngrams), so two different n-grams could
    only count as one on a hash collision; tests hold the values equal to `repetition`'s.
    """
    batch = tokenize_batch(texts)
    hashes, docs = ngram_hashes(batch, n)
    stats = (
        pl.DataFrame({"doc": docs, "h": hashes})
        .group_by("doc")
        .agg(pl.len().alias("total"), pl.col("h").n_unique().alias("distinct"))
    )
    ratio = np.zeros(batch.n_docs)
    ratio[stats["doc"].to_numpy()] = 1 - stats["distinct"].to_numpy() / stats["total"].to_numpy()
    return ratio


# --- truncation ---------------------------------------------------------------------------------

# A completion is truncated when generation stopped on the token limit instead of ending by
# itself. Backends report it as the OpenAI finish reason "length" (vLLM, llama.cpp, SGLang,
# OpenAI alike); a trainer only has the token ids, and a finished completion ends with an EOS id.
TRUNCATED_FINISH_REASON = "length"


def truncated_finish(finish_reason: pl.Expr) -> pl.Expr:
    """True where a backend reported the token limit (null finish reasons are not truncated)."""
    return finish_reason.fill_null("") == TRUNCATED_FINISH_REASON


def truncated_ids(completion_ids: Sequence[Sequence[int]], eos_ids: Sequence[int]) -> list[bool]:
    """True where the ids do not end with an EOS id; all False when no EOS id is known."""
    eos = frozenset(eos_ids)
    return [bool(eos) and (not ids or ids[-1] not in eos) for ids in completion_ids]
