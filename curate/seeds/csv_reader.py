"""CSV reader that knows where each record starts.

Python's C `csv` module is used rather than Polars' reader because a record's location must be
the physical line it starts on (a quoted cell may hold newlines) and a row with too few or too
many cells must be set aside by line, not padded with nulls or refused without a location.
Every cell is text; the header is the first non-blank record.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import polars as pl

from curate.seeds.errors import IngestError
from curate.seeds.records import LOC, Reject, SourceRecords, excerpt, reject

_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape


def read_csv(path: Path, skip_bad: bool) -> SourceRecords:
    text, undecodable = _decode(path.read_bytes())
    lines = io.StringIO(text, newline="").readlines()  # the lines csv counts
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    locs: list[str] = []
    rejects: list[Reject] = []
    start = 1
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)  # over-long cells are judged by max_chars, with a field name
    try:
        while True:
            try:
                row = next(reader)
                problem = _check(row, header, undecodable)
            except StopIteration:
                break
            except csv.Error as exc:
                problem = ("", f"malformed CSV: {exc}")
            loc = f"{path}:{start}"
            if problem is not None:
                raw = excerpt("".join(lines[start - 1 : reader.line_num]))
                # a bad header always fails: the cells of every row are read by it
                rejects.append(reject(loc, *problem, raw, skip_bad and header is not None))
            elif header is None and row:
                header = _header(row, loc)
            elif row:
                rows.append(row)
                locs.append(loc)
            start = reader.line_num + 1
    finally:
        csv.field_size_limit(limit)
    if header is None or not (locs or rejects):
        raise IngestError(f"{path}: empty file, no records")
    frame = pl.DataFrame(rows, schema=dict.fromkeys(header, pl.String), orient="row")
    return SourceRecords(frame.with_columns(pl.Series(LOC, locs, dtype=pl.String)), rejects)


def _decode(data: bytes) -> tuple[str, bool]:
    """The text (a leading BOM dropped) and whether some bytes were not UTF-8; those are kept as
    lone surrogates so the rows holding them can be found and set aside by line."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape"), True


def _check(row: list[str], header: list[str] | None, undecodable: bool) -> tuple[str, str] | None:
    """(field, what is wrong) for a record, or None. A blank line is no record."""
    if undecodable:
        for index, cell in enumerate(row):
            if bad := _UNDECODABLE.search(cell):
                name = header[index] if header and index < len(header) else ""
                return name, f"is not valid UTF-8 (byte 0x{ord(bad.group()) - 0xDC00:02x})"
    if header is None or not row or len(row) == len(header):
        return None
    if len(row) < len(header):
        missing = header[len(row)]
        return missing, f"is missing: the row has {len(row)} of the header's {len(header)} cells"
    return "", f"row has {len(row)} cells, the header has {len(header)}"


def _header(row: list[str], loc: str) -> list[str]:
    names = [name.strip() for name in row]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise IngestError(f"{loc}: header names {duplicates} more than once")
    return names
