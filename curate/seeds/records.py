"""What a reader hands to ingestion: a frame of source fields with a location column, the rows
it set aside, and, for fields whose values mixed JSON kinds, the kind of each value.

A column's dtype tells the kind of all its values when they agree (Int64: every value is an
integer). Only a column that mixed kinds (a string here, a number or a list there) needs a
per-value kind; it is then kept as text (JSON text for non-strings) beside a kind column, so
validation can still tell the number 42 from the string "42".

The location and kind columns are markers no source can forge: their names start with a NUL
character, and `SourceRecords.of` (the one way a reader builds its result) refuses a source
field name holding a control character before it adds them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from curate.seeds.errors import IngestError

LOC = "\x00loc"
KIND = "\x00kind:"
_CONTROL_IN_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f]")
EXCERPT = 500  # characters of the offending record kept in `rejects.raw`
# Seed records are flat. Far deeper nesting is broken data, and costly: Arrow's JSON parser
# recurses (it crashes the process near 20,000 levels) and Polars' nested types crawl.
MAX_DEPTH = 64


@dataclass
class Reject:
    location: str
    field: str
    reason: str
    raw: str


@dataclass
class SourceRecords:
    frame: pl.DataFrame  # all source fields, as read, plus LOC (and KIND + <field> columns)
    rejects: list[Reject] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        source: pl.DataFrame,
        locs: pl.Series | pl.Expr,
        rejects: Sequence[Reject] = (),
        kinds: Mapping[str, pl.Series] | None = None,
    ) -> SourceRecords:
        """The source fields with their locations and kinds added as marker columns, after
        checking that no source field name could be taken for a marker."""
        frame = source.with_columns(locs.alias(LOC))
        for name in source.columns:
            if _CONTROL_IN_NAME.search(name):
                where = str(frame[LOC][0]) if frame.height else "source"
                raise IngestError(
                    f"{where}: field name {excerpt(name)!r} holds a control character; "
                    "rename the field"
                )
        if kinds:
            frame = frame.with_columns(
                pl.Series(KIND + name, values, dtype=pl.String) for name, values in kinds.items()
            )
        return cls(frame, list(rejects))


def reject(loc: str, field: str, reason: str, raw: str, skip_bad: bool) -> Reject:
    """The row set aside, or with skip_bad off the one-line error `loc: field 'f' reason`."""
    if not skip_bad:
        raise IngestError(f"{loc}: field '{field}' {reason}" if field else f"{loc}: {reason}")
    return Reject(loc, field, reason, raw)


def too_deep(record: dict[str, object]) -> str | None:
    """The field whose value nests deeper than MAX_DEPTH levels, if any (iteratively: no
    recursion limit to hit)."""
    for key, value in record.items():
        stack: list[tuple[object, int]] = [(value, 2)]  # the record itself is level 1
        while stack:
            item, depth = stack.pop()
            if isinstance(item, dict):
                item = list(item.values())
            if not isinstance(item, list):
                continue
            if depth > MAX_DEPTH:
                return key
            stack.extend((child, depth + 1) for child in item)
    return None


def excerpt(raw: str | bytes) -> str:
    """The first EXCERPT characters, with control characters escaped so a NUL or an escape
    sequence in bad input cannot reach the store or a terminal as itself."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text[:EXCERPT]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\t\n" else f"\\u{ord(c):04x}" for c in text)


def json_kind(value: object) -> str | None:
    """The kind name validation uses for one parsed JSON value (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float" if math.isfinite(value) else "nonfinite"
    if isinstance(value, list):
        return "list"
    return "object"


def frame_from_records(
    records: list[dict[str, object]],
) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """A frame with one column per field, and the kinds of the fields that mix them. A field
    whose values share one kind becomes a typed column; a field that mixes kinds becomes text
    plus its per-value kinds."""
    names = list(dict.fromkeys(k for r in records for k in r))
    columns: dict[str, pl.Series] = {}
    kinds: dict[str, pl.Series] = {}
    for name in names:
        values = [r.get(name) for r in records]
        types = {type(v) for v in values} - {type(None)}  # cheaper than a kind per value
        typed = _typed(name, values) if len(types) <= 1 else None
        if typed is not None:
            columns[name] = typed
            continue
        text = [_text(v) for v in values]
        columns[name] = pl.Series(name, text, dtype=pl.String)
        kinds[name] = pl.Series(KIND + name, [json_kind(v) for v in values], pl.String)
    return (pl.DataFrame(list(columns.values())) if columns else pl.DataFrame()), kinds


def _typed(name: str, values: list[object]) -> pl.Series | None:
    try:
        series = pl.Series(name, values, strict=True)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        return None  # e.g. lists of mixed items, integers past 128 bits
    return None if series.dtype == pl.Object else series


def _text(value: object) -> str | None:
    """A value of a mixed-kind field as text: a string as itself, 42.0 as "42" (as a typed
    float column reads it), anything else as its JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return json.dumps(value)
