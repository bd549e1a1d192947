"""JSON Lines (plain or gzip) and JSON readers.

A clean JSONL file goes through Arrow's JSON reader, which is fast and, unlike Polars'
(which turns a 42 in a column of strings into "42"), refuses a column whose values change kind.
Anything it refuses, or a block whose row count does not match its line count (blank lines),
takes the line-by-line parse, which locates each bad line and records each value's kind.

A JSONL file is read in blocks of about `BATCH_BYTES` that end at a line end (gzip decompressed
as it is read), each block judged on its own: memory stays bounded by the block, not the file.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from curate.seeds.errors import IngestError
from curate.seeds.records import (
    LOC,
    MAX_DEPTH,
    Reject,
    SourceRecords,
    excerpt,
    frame_from_records,
    reject,
    too_deep,
)

_BLOCK = 8 << 20  # Arrow JSON block: a row longer than this takes the line-by-line parse
BATCH_BYTES = 8 << 20  # source bytes per batch of records (a longer line is a batch of its own)
_READ = 1 << 20  # bytes read from the file at a time
_BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # a \\udXXX escape: maybe half a pair
# an integer of 16 digits or more (maybe past 2**53) where a value starts: Arrow would read
# it, or a column holding it, as a float and lose digits; the line parse keeps it exact
# (inside a string it only costs the slower path)
_LONG_INTEGER = re.compile(rb"[:\[,]\s*-?\d{16,}(?![\d.eE])")


def iter_jsonl(
    path: Path, skip_bad: bool, batch_bytes: int | None = BATCH_BYTES
) -> Iterator[SourceRecords]:
    """The file's records in batches of about `batch_bytes` (None: one batch)."""
    first, found = 1, False
    for data, damage in _blocks(path, batch_bytes):
        block = data.removeprefix(_BOM) if first == 1 else data
        if block.strip() or damage is not None:
            found = True
            yield _read_block(path, block, first, damage, skip_bad)
        first += data.count(b"\n")
    if not found:
        raise IngestError(f"{path}: empty file, no records")


def _read_block(
    path: Path, data: bytes, first: int, damage: str | None, skip_bad: bool
) -> SourceRecords:
    """The records of `data`, lines `first`... of the file."""
    lines, deep = _scan_lines(data)
    blank = b"\n\n" in data or data.startswith(b"\n")  # Arrow skips blank lines: no line numbers
    if damage is None and not blank and not deep and not _LONG_INTEGER.search(data):
        fast = _read_arrow(data)
        if fast is not None and fast.height == lines:
            locs = pl.int_range(first, first + fast.height, eager=True).cast(pl.String)
            return SourceRecords.of(fast, pl.lit(f"{path}:") + locs)
    return _read_lines(path, data, damage, skip_bad, first)


def _blocks(path: Path, batch_bytes: int | None) -> Iterator[tuple[bytes, str | None]]:
    """The file's bytes (a .gz file's decompressed bytes) in blocks of at least `batch_bytes`
    that end just after a newline, the last one with what went wrong at the end of the
    data (a truncated gzip stream), if anything."""
    gz = path.name.lower().endswith(".gz")
    inflate = _Inflate(path) if gz else None
    pieces, size = [], 0
    for piece in inflate.pieces() if inflate is not None else _file_pieces(path):
        pieces.append(piece)
        size += len(piece)
        if batch_bytes is None or size < batch_bytes or b"\n" not in piece:
            continue
        data, start = b"".join(pieces), 0
        while (cut := data.find(b"\n", start + batch_bytes - 1) + 1) > 0:
            yield data[start:cut], None
            start = cut
        pieces, size = [data[start:]], len(data) - start
    data = b"".join(pieces)
    yield data, inflate.damage if inflate is not None else None


def _file_pieces(path: Path, size: int = _READ) -> Iterator[bytes]:
    with path.open("rb") as file:
        while piece := file.read(size):
            yield piece


class _Inflate:
    """A gzip file's decompressed bytes, piece by piece. zlib is fed in pieces so that what
    came out before an error or a truncation is kept (Python's gzip module drops the output of
    the read that fails); members follow one another and zero padding after the last is
    ignored, as gzip does. Corrupt deflate data or a failed CRC fails (naming the line it was
    noticed on: the damage may lie anywhere before it, so no line can be trusted); a stream
    that stops early (a truncated download) leaves `damage` set once the pieces are read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.damage: str | None = None

    def pieces(self) -> Iterator[bytes]:
        lines, produced = 0, False
        inflate, started = zlib.decompressobj(wbits=31), False
        try:
            for raw in _file_pieces(self.path, 1 << 16):  # small: output before an error is kept
                data = raw
                while data:
                    if inflate.eof:
                        if not data.strip(b"\0"):
                            break
                        inflate, started = zlib.decompressobj(wbits=31), False
                    started = True
                    out = inflate.decompress(data, _READ)  # bounded: a bomb inflates 1000x
                    data = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
                    if out:
                        produced = True
                        lines += out.count(b"\n")
                        yield out
        except zlib.error as exc:
            if not produced:
                raise IngestError(f"{self.path}: not a readable gzip file: {exc}") from exc
            raise IngestError(
                f"{self.path}:{lines + 1}: gzip data is corrupt ({exc}); the damage may "
                "start before this line, so no line of the file is read (re-download or "
                "re-compress it)"
            ) from exc
        if started and not inflate.eof:
            if not produced:
                raise IngestError(f"{self.path}: gzip stream ends before any data (truncated file)")
            self.damage = "gzip stream ends early (truncated file)"


def read_bytes(path: Path) -> tuple[bytes, str | None]:
    """The file's bytes; for a .gz file, the bytes it decompresses to, judged as `_Inflate`
    judges them (the whole-file read of a `.json` document)."""
    if not path.name.lower().endswith(".gz"):
        return path.read_bytes(), None
    inflate = _Inflate(path)
    data = b"".join(inflate.pieces())
    return data, inflate.damage


def _scan_lines(data: bytes) -> tuple[int, bool]:
    """(number of lines, whether one holds MAX_DEPTH - 1 or more openers that can be
    structure: a [ or { right after [ { : , or whitespace). LaTeX braces inside strings follow
    letters, backslashes, ^ or _; a line nesting D levels deep has at least D - 1 such openers,
    so False keeps Arrow's recursive parser safe. One NumPy pass in cache-sized blocks."""
    array = np.frombuffer(data, dtype=np.uint8)
    none = np.empty(0, dtype=np.intp)
    openers: list[np.ndarray] = [none]
    newlines: list[np.ndarray] = [none]
    for start in range(0, array.size, 1 << 20):
        block = array[start : start + (1 << 20)]
        found = np.flatnonzero((block == 0x5B) | (block == 0x7B)) + start
        found = found[found > 0]
        openers.append(found[np.isin(array[found - 1], _BEFORE_STRUCTURE)])
        newlines.append(np.flatnonzero(block == 0x0A) + start)
    ends = np.concatenate(newlines)
    per_line = np.bincount(np.searchsorted(ends, np.concatenate(openers)))
    lines = ends.size + (0 if data.endswith(b"\n") else 1)
    return lines, bool(per_line.size) and int(per_line.max()) >= MAX_DEPTH - 1


_BEFORE_STRUCTURE = np.frombuffer(b"[{:, \t\r", dtype=np.uint8)


def _read_arrow(data: bytes) -> pl.DataFrame | None:
    try:
        data.decode("utf-8")
        table = pa_json.read_json(io.BytesIO(data), pa_json.ReadOptions(block_size=_BLOCK))
        dated = [f.name for f in table.schema if pa.types.is_temporal(f.type)]
        if dated:  # Arrow read a date-like string as a timestamp: read the text as written
            text = pa_json.ParseOptions(
                explicit_schema=pa.schema([(n, pa.string()) for n in dated])
            )
            table = pa_json.read_json(
                io.BytesIO(data), pa_json.ReadOptions(block_size=_BLOCK), text
            )
    except (UnicodeDecodeError, pa.ArrowException, ValueError):
        return None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _read_lines(
    path: Path, data: bytes, damage: str | None, skip_bad: bool, first: int = 1
) -> SourceRecords:
    records: list[dict[str, object]] = []
    locs: list[str] = []
    rejects: list[Reject] = []
    lines = data.split(b"\n")
    if damage is not None:  # the last, partial line belongs to the damaged part
        lines, tail = lines[:-1], lines[-1]
        lines.append(b"")
    surrogates = _SURROGATE.search(data) is not None  # one scan, not one per line
    for number, raw in enumerate(lines, start=first):
        if not raw.strip():
            continue
        loc = f"{path}:{number}"
        record = _parse_line(raw, surrogates)
        if not isinstance(record, dict):
            rejects.append(reject(loc, *record, excerpt(raw), skip_bad))
            continue
        records.append(record)
        locs.append(loc)
    if damage is not None:
        loc = f"{path}:{first + len(lines) - 1}"
        rejects.append(reject(loc, "", damage, excerpt(tail), skip_bad))
    frame, kinds = frame_from_records(records)
    return SourceRecords.of(frame, pl.Series(LOC, locs, dtype=pl.String), rejects, kinds)


def _parse_line(raw: bytes, surrogates: bool) -> dict[str, object] | tuple[str, str]:
    """The record, or (field, what is wrong) for the line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return "", f"malformed JSON: {exc.msg} at column {exc.colno}"
    except ValueError as exc:  # e.g. an integer past Python's 4,300-digit limit
        return "", f"malformed JSON: {exc}"
    except RecursionError:
        return "", f"nested deeper than {MAX_DEPTH} levels"
    return _check_record(value, surrogates and _SURROGATE.search(raw) is not None)


def _check_record(value: object, escapes_surrogates: bool) -> dict[str, object] | tuple[str, str]:
    """The record, or what is wrong with it: not an object, or a `\\udXXX` escape that
    decodes to half a surrogate pair (text no UTF-8 store can hold)."""
    if not isinstance(value, dict):
        return "", f"expected a JSON object, got {_json_type(value)}"
    if (deep := too_deep(value)) is not None:
        return deep, f"nests deeper than {MAX_DEPTH} levels"
    if escapes_surrogates:
        for key, item in value.items():
            try:
                json.dumps(item, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                return key, "holds an unpaired surrogate escape (\\ud800-\\udfff)"
    return value


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def read_json(path: Path, skip_bad: bool) -> SourceRecords:
    """A JSON document holding a list of records (or an object with one key holding it).
    Damage here leaves no record boundary to resume from, so it fails in both modes."""
    data, damage = read_bytes(path)
    if damage is not None:
        raise IngestError(f"{path}: {damage}")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IngestError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x})") from exc
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from exc
    except ValueError as exc:
        raise IngestError(f"{path}: malformed JSON: {exc}") from exc
    except RecursionError:
        raise IngestError(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise IngestError(f"{path}: expected a list of records (or one key holding it)")
        value = lists[0]
    if not isinstance(value, list):
        raise IngestError(f"{path}: expected a list of records, got {_json_type(value)}")
    if not value:
        raise IngestError(f"{path}: empty file, no records")
    records: list[dict[str, object]] = []
    locs: list[str] = []
    rejects: list[Reject] = []
    surrogates = _SURROGATE.search(data) is not None
    for index, item in enumerate(value):
        loc = f"{path}[{index}]"
        checked = _check_record(item, surrogates)
        if not isinstance(checked, dict):
            rejects.append(reject(loc, *checked, excerpt(json.dumps(item)[:2000]), skip_bad))
            continue
        records.append(checked)
        locs.append(loc)
    frame, kinds = frame_from_records(records)
    return SourceRecords.of(frame, pl.Series(LOC, locs, dtype=pl.String), rejects, kinds)
