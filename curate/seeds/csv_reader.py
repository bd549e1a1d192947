"""CSV reader that knows where each record starts.

A record's location is the physical line it starts on (a quoted cell may hold newlines), and a
row with too few or too many cells is set aside by line: Polars' reader pads a short row with
empty cells and refuses a long one without a location. So one NumPy pass over the bytes finds
each record's start line and cell count (a newline or comma is structure when an even number
of quotes precedes it); when every record fits the header, Polars reads the cells. Anything
else (a ragged row, a stray quote, bytes that are not UTF-8, blank lines) takes Python's `csv`
module, record by record. Every cell is text; the header is the first non-blank record.

The file is read in blocks of about `batch_bytes` cut at record ends, each judged on its own as
above. A cut is made only where the quote count says so reliably: every quote before it opens a
field, closes one or doubles one, and no lone carriage return came. Past a quote that breaks
this (a literal `5"` in an unquoted cell) the rest of the file is one block, read as before.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from curate.seeds.errors import IngestError
from curate.seeds.records import Reject, SourceRecords, excerpt, reject

_BOM = b"\xef\xbb\xbf"
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape


def read_csv(path: Path, skip_bad: bool) -> SourceRecords:
    """The whole file as one batch."""
    return next(iter_csv(path, skip_bad, None))


def iter_csv(path: Path, skip_bad: bool, batch_bytes: int | None) -> Iterator[SourceRecords]:
    """The file's records in batches of about `batch_bytes` (None: one)."""
    header: list[str] | None = None
    first, found = 1, False
    for data in _blocks(path, batch_bytes):
        block = data.removeprefix(_BOM) if first == 1 else data
        if header is None:
            records, header = _read_block(path, block, skip_bad, data, first)
        else:
            records = _read_rows(path, block, header, first, skip_bad)
        if records is not None and (records.frame.height or records.rejects):
            found = True
            yield records
        first += data.count(b"\n")
    if header is None or not found:
        raise IngestError(f"{path}: empty file, no records")


def _blocks(path: Path, batch_bytes: int | None) -> Iterator[bytes]:
    with path.open("rb") as file:
        if batch_bytes is None:
            yield file.read()
            return
        buffer = b""
        while piece := file.read(batch_bytes):
            buffer += piece
            if len(buffer) < batch_bytes:
                continue
            cut = _record_cut(buffer)
            if cut is None:  # the quote count cannot be trusted: the rest is one block
                buffer += file.read()
                break
            if cut:
                yield buffer[:cut]
                buffer = buffer[cut:]
        yield buffer


def _record_cut(data: bytes) -> int | None:
    """The offset just past the last record end of `data` (which starts at a record start), 0
    when there is none yet, None when a quote or carriage return before it breaks the count."""
    array = np.frombuffer(data, dtype=np.uint8)
    quotes, newlines = _positions(array, 0x22), _positions(array, 0x0A)
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    if ends.size == 0:
        return 0
    cut = int(ends[-1]) + 1
    quotes = quotes[quotes < cut]
    before = array[np.maximum(quotes - 1, 0)]
    after = array[quotes + 1]  # a quote before a record end is never the last byte
    opening, closing = quotes[0::2], quotes[1::2]
    starts_field = np.isin(before[0::2], _OPEN_AFTER) | (opening == 0)
    starts_field |= np.isin(opening - 1, closing)  # the second quote of a doubled one
    ends_field = np.isin(after[1::2], _CLOSE_BEFORE) | np.isin(closing + 1, opening)
    carriage = _positions(array[:cut], 0x0D)
    lone = carriage.size and bool((array[np.minimum(carriage + 1, cut - 1)] != 0x0A).any())
    return cut if starts_field.all() and ends_field.all() and not lone else None


_OPEN_AFTER = np.frombuffer(b",\n", dtype=np.uint8)
_CLOSE_BEFORE = np.frombuffer(b",\r\n", dtype=np.uint8)


def _read_rows(
    path: Path, data: bytes, header: list[str], first: int, skip_bad: bool
) -> SourceRecords | None:
    """A later block: records only, under the first block's header, lines `first`..."""
    layout = _layout(data)
    if layout is not None and data.count(b"\r") == data.count(b"\r\n"):
        starts, cells = layout
        if starts.size and (cells == len(header)).all():
            try:
                frame = pl.read_csv(
                    io.BytesIO(data), has_header=False, new_columns=header,
                    infer_schema_length=0, empty_string_is_null=False,
                )  # fmt: skip
            except pl.exceptions.PolarsError:
                frame = None
            if frame is not None and frame.height == starts.size:
                locs = pl.lit(f"{path}:") + pl.Series(starts + first - 1).cast(pl.String)
                return SourceRecords.of(frame, locs)
    records, _ = _read_slow(path, data, skip_bad, header, first)
    return records


def _read_block(
    path: Path, data: bytes, skip_bad: bool, raw: bytes, first: int
) -> tuple[SourceRecords | None, list[str] | None]:
    """The first block with records: its header and records."""
    clean = _read_clean(path, data) if first == 1 else None
    if clean is not None:
        return clean
    return _read_slow(path, raw, skip_bad, None, first)


def _read_slow(
    path: Path, data: bytes, skip_bad: bool, header: list[str] | None, first: int
) -> tuple[SourceRecords | None, list[str] | None]:
    """Python's csv module, record by record (the header first when `header` is None)."""
    text, undecodable = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    starts: list[int] = []
    rejects: list[Reject] = []
    lines: list[str] = []  # the physical lines, split only once a row is bad
    problem: tuple[str, str] | None
    start, limit = 1, csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)  # over-long cells are judged by max_chars, with a field name
    try:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row, problem = [], ("", f"malformed CSV: {exc}")
            else:
                if header and len(row) == len(header) and not undecodable:  # the common case
                    rows.append(row)
                    starts.append(start)
                    start = reader.line_num + 1
                    continue
                problem = _check(row, header, undecodable)
            if problem is not None:
                lines = lines or io.StringIO(text, newline="").readlines()
                raw = excerpt("".join(lines[start - 1 : reader.line_num]))
                # a bad header always fails: the cells of every row are read by it
                loc = f"{path}:{start + first - 1}"
                rejects.append(reject(loc, *problem, raw, skip_bad and header is not None))
            elif header is None and row:
                header = _header(row, f"{path}:{start + first - 1}")
            elif row:
                rows.append(row)
                starts.append(start)
            start = reader.line_num + 1
    finally:
        csv.field_size_limit(limit)
    if header is None:
        return None, None
    frame = pl.DataFrame(rows, schema=dict.fromkeys(header, pl.String), orient="row")
    locs = pl.lit(f"{path}:") + (pl.Series(starts, dtype=pl.Int64) + first - 1).cast(pl.String)
    return SourceRecords.of(frame, locs, rejects), header


def _read_clean(path: Path, data: bytes) -> tuple[SourceRecords | None, list[str] | None] | None:
    """The records with their locations, and the header, when every record fits the header,
    else None."""
    layout = _layout(data)
    if layout is None or data.count(b"\r") != data.count(b"\r\n"):
        return None  # an odd quote count, or lone carriage returns (csv counts them as lines)
    starts, cells = layout
    try:
        first = data[: _first_end(data, starts)].decode("utf-8")
        header = _header(next(csv.reader([first.rstrip("\r\n")])), f"{path}:1")
        if cells.size < 2 or (cells != len(header)).any():
            return None
        frame = pl.read_csv(
            io.BytesIO(data), infer_schema_length=0, empty_string_is_null=False, new_columns=header
        )
    except (UnicodeDecodeError, StopIteration, csv.Error, pl.exceptions.PolarsError):
        return None
    if frame.height != starts.size - 1:
        return None  # e.g. blank lines, which Polars skips
    locs = pl.lit(f"{path}:") + pl.Series(starts[1:]).cast(pl.String)
    return SourceRecords.of(frame, locs), header


def _layout(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(start line, cell count) of each record, or None when the quotes do not pair up."""
    array = np.frombuffer(data, dtype=np.uint8)
    quotes = _positions(array, 0x22)
    if quotes.size % 2:
        return None
    newlines = _positions(array, 0x0A)
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]  # outside quotes: a record ends
    commas = _positions(array, 0x2C)
    separators = commas[np.searchsorted(quotes, commas) % 2 == 0]
    records = ends.size + (0 if data.endswith(b"\n") else 1)
    cells = np.bincount(np.searchsorted(ends, separators), minlength=records)[:records] + 1
    starts = np.concatenate(([1], np.searchsorted(newlines, ends) + 2))[:records]
    return starts, cells


def _first_end(data: bytes, starts: np.ndarray) -> int:
    """Byte offset just past the header record."""
    if starts.size < 2:
        return len(data)
    offset = 0
    for _ in range(int(starts[1]) - 1):
        offset = data.index(b"\n", offset) + 1
    return offset


def _positions(array: np.ndarray, byte: int) -> np.ndarray:
    """Offsets of `byte`, found in cache-sized blocks (one big comparison is slower here)."""
    found: list[np.ndarray] = [np.empty(0, dtype=np.intp)]
    for start in range(0, array.size, 1 << 20):
        found.append(np.flatnonzero(array[start : start + (1 << 20)] == byte) + start)
    return np.concatenate(found)


def _decode(data: bytes) -> tuple[str, bool]:
    """The text (a leading BOM dropped) and whether some bytes were not UTF-8; those are kept as
    lone surrogates so the rows holding them can be found and set aside by line."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.removeprefix(_BOM).decode("utf-8", "surrogateescape"), True


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
