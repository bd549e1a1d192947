"""The one rule for a mapped field's value, the same for every format, vectorized over a batch.

A problem must be text. An answer, and a reference (--id-field), may be text or a number (a
number is kept as its text: 42 -> "42", 42.0 -> "42"); a boolean, list, object, NaN or infinity
is neither and is rejected. Every text must hold at most `max_chars` characters, no control
characters other than tab, newline and carriage return (NUL, a form feed from an unescaped `\\f`
in JSON, C1 codes from mis-decoded bytes), and at least one visible character: text made only of
whitespace and invisible code points (zero-width spaces and joiners, BOMs, other format
characters Cf, default-ignorable fillers) counts as empty. An empty optional field is null; an
empty required one is rejected. `level` is only a hint: a value that is not text or a number is
ignored.

Polars computes a reason code per row and field; only the rows that fail are described in Python.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from curate.seeds.records import KIND, excerpt

CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
_VISIBLE = r"[^\s\p{Cf}\p{Default_Ignorable_Code_Point}\x{2800}]"
TEXT = ("text",)
NUMBER = ("text", "integer", "float")
_EXPECTED = {TEXT: "text", NUMBER: "text or a number"}


@dataclass(frozen=True)
class Field:
    alias: str  # the column ingestion reads: problem, answer_raw, ref
    source: str | None  # the source field mapped to it, None when the source has none
    accepts: tuple[str, ...]  # value kinds allowed
    required: bool


def kind_expr(frame: pl.DataFrame, column: str) -> pl.Expr:
    """Each value's kind (text, integer, float, nonfinite, bool, list, object, bytes, date/time,
    other), null where the value is null."""
    if KIND + column in frame.columns:
        return pl.col(KIND + column)
    dtype, value = frame.schema[column], pl.col(column)
    if dtype == pl.Null:
        return pl.lit(None, pl.String)
    if dtype.is_float():
        kind = pl.when(value.is_nan() | value.is_infinite()).then(pl.lit("nonfinite"))
        return pl.when(value.is_not_null()).then(kind.otherwise(pl.lit("float")))
    return pl.when(value.is_not_null()).then(pl.lit(_dtype_kind(dtype)))


def _dtype_kind(dtype: pl.DataType) -> str:
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "text"
    if dtype.is_integer():
        return "integer"
    if dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.List | pl.Array):
        return "list"
    if isinstance(dtype, pl.Struct):
        return "object"
    if dtype == pl.Binary:
        return "bytes"
    return "date/time" if dtype.is_temporal() else "other"


def text_expr(frame: pl.DataFrame, column: str) -> pl.Expr:
    """The value as text where its kind can be text (nested values stay null: they are
    rejected, and described from the source column)."""
    dtype, value = frame.schema[column], pl.col(column)
    if dtype == pl.String:
        return value
    if dtype.is_float():  # 42.0 reads "42": Arrow's JSON reader makes 42 a float beside 2.5
        whole = value.is_finite() & (value == value.floor()) & (value.abs() < 2**53)
        return (
            pl.when(whole)
            .then(value.cast(pl.Int64).cast(pl.String))
            .otherwise(value.cast(pl.String))
        )
    if _dtype_kind(dtype) in ("text", "integer", "float"):
        return value.cast(pl.String)
    return pl.lit(None, pl.String)


def check(mapped: pl.DataFrame, fields: list[Field], max_chars: int) -> pl.DataFrame:
    """`mapped` (columns <alias> with the text and _kind_<alias> with the kind of each field)
    plus `_bad_field` and `_code`, the source field and reason code of each row's first failing
    field (null for a good row), with empty optional values made null."""
    names, codes, cleared = [], [], []
    for spec in fields:
        if spec.source is None:
            continue
        text, kind = pl.col(spec.alias), pl.col(f"_kind_{spec.alias}")
        values = mapped[spec.alias]
        # the costly per-row tests run only where a whole-column pre-check says they can fail
        long = (values.str.len_bytes() > max_chars).any()
        too_long = text.str.len_chars() > max_chars if long else pl.lit(False)
        control = text.str.contains(CONTROL) if may_hold_control(values) else pl.lit(False)
        visible = pl.lit(_visible(values))
        empty = pl.lit("blank" if spec.required else None, pl.String)
        code = (
            pl.when(kind.is_null())
            .then(pl.lit("missing" if spec.required else None, pl.String))
            .when(~kind.is_in(list(spec.accepts)))
            .then(pl.lit("type:") + kind)
            .when(too_long)
            .then(pl.lit("long"))
            .when(control)
            .then(pl.lit("control"))
            .when(~visible)
            .then(empty)
        )
        codes.append(code)
        names.append(pl.when(code.is_not_null()).then(pl.lit(spec.source)))
        if not spec.required:
            cleared.append(pl.when(visible).then(text).alias(spec.alias))
    return mapped.with_columns(
        *cleared, pl.coalesce(names).alias("_bad_field"), pl.coalesce(codes).alias("_code")
    )


def _visible(values: pl.Series) -> pl.Series:
    """Whether each value has a visible character. One that starts with a printable ASCII
    character has; only the others pay for the Unicode-class regex (which, in Polars, scans the
    whole string even when the first character matches)."""
    head = values.str.head(1)
    visible = ((head >= "!") & (head <= "~")).fill_null(False)
    rest = (~visible).arg_true()
    if rest.len():
        found = values.gather(rest).str.contains(_VISIBLE).fill_null(False)
        visible = visible.scatter(rest, found)
    return visible


def may_hold_control(values: pl.Series) -> bool:
    """False when no value can hold a control character, from one NumPy pass over the column's
    UTF-8 bytes in cache-sized blocks: several times faster than the per-row regex it spares,
    and never wrong in that direction (a C0 or DEL is a byte below 0x20 or 0x7F; a C1 is the
    pair 0xC2 0x80-0x9F)."""
    array = values.to_arrow(compat_level=pl.CompatLevel.oldest())  # offsets + one data buffer
    for chunk in array.chunks if isinstance(array, pa.ChunkedArray) else [array]:
        buffer = chunk.buffers()[-1]
        data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.empty(0)
        for start in range(0, data.size, _BLOCK):
            block = data[start : start + _BLOCK + 1]  # one byte more: a 0xC2 pair may straddle
            low = block[block < 0x20]
            if low.size and np.count_nonzero((low != 0x09) & (low != 0x0A) & (low != 0x0D)):
                return True  # a C0 control other than tab, newline, carriage return
            if np.count_nonzero(block == 0x7F):
                return True
            lead = np.flatnonzero(block == 0xC2)
            if lead.size and np.count_nonzero(block[np.minimum(lead + 1, block.size - 1)] < 0xA0):
                return True  # a C1 control
    return False


_BLOCK = 1 << 18


def describe(code: str, value: object, spec: Field, max_chars: int) -> str:
    """The reason, in words, for one failing value."""
    if code == "missing" or (code == "blank" and not str(value).strip()):
        return "is missing or empty"
    if code.startswith("type:"):
        kind = code.removeprefix("type:")
        what = _KINDS.get(kind, kind)
        return f"is {what} ({_shown(value)}), expected {_EXPECTED.get(spec.accepts, 'text')}"
    text = str(value)
    if code == "long":
        return f"has {len(text):,} characters, over max_chars={max_chars:,}"
    if code == "control":
        match = re.search(CONTROL, text)
        assert match is not None
        char = match.group()
        name = unicodedata.name(char, _CONTROL_NAMES.get(char, "control character"))
        return f"contains U+{ord(char):04X} ({name}) at character {match.start() + 1}"
    seen = sorted({c for c in text if not c.isspace()})[:4]  # none is visible: why it failed
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '')}".strip() for c in seen)
    return f"is empty: only whitespace and invisible characters ({names or 'format characters'})"


_KINDS = {
    "integer": "a number",
    "float": "a number",
    "nonfinite": "NaN or infinite",
    "bool": "a boolean",
    "list": "a list",
    "object": "an object",
    "bytes": "bytes, not text",
    "date/time": "a date/time",
    "other": "not text",
}
# control characters have no Unicode name; these are the ones bad input tends to hold
_CONTROL_NAMES = {
    "\x00": "NUL",
    "\x08": "BACKSPACE, an unescaped \\b in JSON?",
    "\x0c": "FORM FEED, an unescaped \\f in JSON?",
    "\x1b": "ESCAPE",
}


def _shown(value: object) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return excerpt(text[:40] + ("..." if len(text) > 40 else ""))
