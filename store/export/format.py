"""Chat rendering of resolved mixture rows into Arrow record batches.

Input columns (INPUT_COLUMNS): id, seed_id, part, domain, band, question, reasoning,
answer_text, answer. Output columns (OUTPUT_COLUMNS), what train/ reads: id, seed_id, part,
domain, band, messages (system, user, assistant `<think>{reasoning}</think>{answer_text}`),
prompt (system and user messages only, for GRPO), answer (the reference answer).

The message lists are assembled from Arrow buffers (take + offsets): building
list<struct> columns with Polars' `concat_list` of structs was ~10x slower here.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

INPUT_COLUMNS = (
    "id",
    "seed_id",
    "part",
    "domain",
    "band",
    "question",
    "reasoning",
    "answer_text",
    "answer",
)
OUTPUT_COLUMNS = ("id", "seed_id", "part", "domain", "band", "messages", "prompt", "answer")
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
TOKEN_RULE = "runs of non-whitespace characters (ASCII whitespace splits), not model tokens"

_MESSAGE = pa.struct([("role", pa.large_string()), ("content", pa.large_string())])
MESSAGES_TYPE = pa.large_list(_MESSAGE)
SCHEMA = pa.schema(
    [(name, pa.large_string()) for name in ("id", "seed_id", "part", "domain", "band")]
    + [("messages", MESSAGES_TYPE), ("prompt", MESSAGES_TYPE), ("answer", pa.large_string())]
)
_ROLES = pa.array(["system", "user", "assistant"], pa.large_string())
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True


def missing_columns(columns: list[str]) -> str | None:
    missing = [c for c in INPUT_COLUMNS if c not in columns]
    if missing:
        return f"export rows lack columns {missing}; expected {list(INPUT_COLUMNS)}, got {columns}"
    return None


def _strings(batch: pl.DataFrame, expr: pl.Expr) -> pa.LargeStringArray:
    array = batch.select(expr.cast(pl.String)).to_series().to_arrow()
    return array.cast(pa.large_string())


def _messages(contents: list[pa.Array], n: int) -> pa.LargeListArray:
    k = len(contents)
    # row-major interleave: row i's messages are elements i, n + i, 2n + i, ... of the concat
    order = np.arange(k * n, dtype=np.int64).reshape(k, n).T.ravel()
    content = pa.concat_arrays(contents).take(order)
    roles = _ROLES.take(np.tile(np.arange(k), n))
    values = pa.StructArray.from_arrays([roles, content], fields=list(_MESSAGE))
    offsets = pa.array(np.arange(0, k * n + 1, k, dtype=np.int64))
    return pa.LargeListArray.from_arrays(offsets, values)


def count_tokens(array: pa.LargeStringArray) -> np.ndarray:
    """Tokens per string (see TOKEN_RULE), from the Arrow buffers, no per-row Python."""
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    space = _WHITESPACE[data]
    starts = ~space
    starts[1:] &= space[:-1]  # a token starts at a non-space after a space...
    inner = offsets[1:-1]
    inner = inner[inner < len(data)]
    starts[inner] = ~space[inner]  # ...or at the first byte of a string
    positions = np.flatnonzero(starts)
    return np.searchsorted(positions, offsets[1:]) - np.searchsorted(positions, offsets[:-1])


def render(batch: pl.DataFrame, system_prompt: str) -> tuple[pa.RecordBatch, np.ndarray]:
    """The export batch, and token counts per row as columns [user, assistant]."""
    n = batch.height
    system = pa.repeat(pa.scalar(system_prompt, pa.large_string()), n)
    question = _strings(batch, pl.col("question").fill_null(""))
    assistant = _strings(
        batch,
        pl.concat_str(
            pl.lit(THINK_OPEN),
            pl.col("reasoning").fill_null(""),
            pl.lit(THINK_CLOSE),
            pl.col("answer_text").fill_null(""),
        ),
    )
    columns = [_strings(batch, pl.col(c)) for c in ("id", "seed_id", "part", "domain", "band")]
    columns += [
        _messages([system, question, assistant], n),
        _messages([system, question], n),
        _strings(batch, pl.col("answer")),
    ]
    tokens = np.stack([count_tokens(question), count_tokens(assistant)], axis=1)
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA), tokens
