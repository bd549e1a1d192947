"""Read a seed source into a Polars frame of records plus a `_loc` column (file:line or row).

Formats: .jsonl, .jsonl.gz, .json, .parquet, .csv, a `datasets.save_to_disk` folder, or
`hf:owner/name[:config]`. JSONL takes Polars' fast reader when the file is clean and falls back
to a line-by-line parse only to locate (or, with on_error=skip, set aside) the bad lines.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from curate.seeds.errors import IngestError

LOC = "_loc"


@dataclass
class Reject:
    location: str
    field: str
    reason: str
    raw: str


@dataclass
class SourceRecords:
    frame: pl.DataFrame  # all source fields, as read, plus _loc
    rejects: list[Reject] = field(default_factory=list)


def read_source(source: str, *, split: str | None, skip_bad: bool) -> SourceRecords:
    if source.startswith("hf:"):
        return _read_hf(source, split)
    path = Path(source)
    if not path.exists():
        raise IngestError(f"{source}: no such file or folder")
    if path.is_dir():
        return _read_saved_dataset(path, split)
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return _read_jsonl(path, skip_bad)
    if name.endswith(".json"):
        return _read_json(path)
    if name.endswith(".parquet"):
        return _with_rows(_checked(path, lambda: pl.read_parquet(path)), f"{path}#row")
    if name.endswith(".csv"):
        return _read_csv(path)
    raise IngestError(
        f"{source}: unknown format (expected .jsonl, .jsonl.gz, .json, .parquet, .csv, "
        "a datasets.save_to_disk folder, or hf:owner/name[:config])"
    )


def _checked(path: Path, read: object) -> pl.DataFrame:
    try:
        frame = read()  # type: ignore[operator]
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IngestError(f"{path}: cannot be read: {exc}") from exc
    if frame.height == 0:
        raise IngestError(f"{path}: empty file, no records")
    return frame


def _with_rows(frame: pl.DataFrame, prefix: str, start: int = 0) -> SourceRecords:
    locs = pl.int_range(start, start + frame.height, eager=True).cast(pl.String)
    return SourceRecords(frame.with_columns((pl.lit(prefix) + locs).alias(LOC)))


def _read_bytes(path: Path) -> bytes:
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read()
        except (OSError, EOFError) as exc:
            raise IngestError(f"{path}: not a readable gzip file: {exc}") from exc
    return path.read_bytes()


def _read_jsonl(path: Path, skip_bad: bool) -> SourceRecords:
    data = _read_bytes(path)
    if not data.strip():
        raise IngestError(f"{path}: empty file, no records")
    clean = b"\n\n" not in data and not data.startswith(b"\n")
    if clean:
        try:
            data.decode("utf-8")
            frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
            return _with_rows(frame, f"{path}:", start=1)
        except (UnicodeDecodeError, pl.exceptions.PolarsError, ValueError):
            pass  # locate the problem line by line below
    return _read_jsonl_lines(path, data, skip_bad)


def _read_jsonl_lines(path: Path, data: bytes, skip_bad: bool) -> SourceRecords:
    records: list[dict[str, object]] = []
    locs: list[str] = []
    rejects: list[Reject] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        loc = f"{path}:{number}"
        problem = _parse_line(raw)
        if isinstance(problem, str):
            if not skip_bad:
                raise IngestError(f"{loc}: {problem}")
            rejects.append(Reject(loc, "", problem, raw[:500].decode("utf-8", "replace")))
            continue
        records.append(problem)
        locs.append(loc)
    if not records and not rejects:
        raise IngestError(f"{path}: empty file, no records")
    frame = _frame_from_records(records, path)
    return SourceRecords(frame.with_columns(pl.Series(LOC, locs, dtype=pl.String)), rejects)


def _parse_line(raw: bytes) -> dict[str, object] | str:
    """The record, or a string saying what is wrong with the line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"malformed JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    return value


def _frame_from_records(records: list[dict[str, object]], path: Path) -> pl.DataFrame:
    try:
        return pl.DataFrame(records, infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        # mixed value types across records: keep every field as its JSON text
        names = list(dict.fromkeys(k for r in records for k in r))
        as_text = {
            n: [None if r.get(n) is None else _as_text(r[n]) for r in records] for n in names
        }
        return pl.DataFrame(as_text, schema={n: pl.String for n in names})


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _read_json(path: Path) -> SourceRecords:
    try:
        value = json.loads(_read_bytes(path).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from exc
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise IngestError(f"{path}: expected a list of records (or one key holding it)")
        value = lists[0]
    if not isinstance(value, list) or not value:
        raise IngestError(f"{path}: empty file, no records")
    bad = next((i for i, r in enumerate(value) if not isinstance(r, dict)), None)
    if bad is not None:
        raise IngestError(f"{path}[{bad}]: expected a JSON object")
    frame = _frame_from_records(value, path)
    index = pl.int_range(pl.len()).cast(pl.String)
    return SourceRecords(frame.with_columns((pl.lit(f"{path}[") + index + pl.lit("]")).alias(LOC)))


def _read_csv(path: Path) -> SourceRecords:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise IngestError(f"{path}:{line}: not valid UTF-8") from exc
    frame = _checked(path, lambda: pl.read_csv(path, infer_schema_length=0))
    # line numbers: the header is line 1 (quoted multi-line cells would shift them)
    return _with_rows(frame, f"{path}:", start=2)


def _read_saved_dataset(path: Path, split: str | None) -> SourceRecords:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise IngestError(f"{path}: not a folder saved by datasets.save_to_disk: {exc}") from exc
    dataset = _pick_split(loaded, split, str(path))
    frame = pl.from_arrow(dataset.data.table)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        raise IngestError(f"{path}: empty dataset, no records")
    return _with_rows(frame, f"{path}#")


def _read_hf(source: str, split: str | None) -> SourceRecords:
    import datasets

    name, _, config = source.removeprefix("hf:").partition(":")
    try:
        loaded = datasets.load_dataset(name, config or None, split=split or "train")
    except Exception as exc:  # datasets raises many types (network, missing config, ...)
        raise IngestError(f"{source}: could not load from the Hugging Face hub: {exc}") from exc
    frame = pl.from_arrow(loaded.data.table)
    assert isinstance(frame, pl.DataFrame)
    return _with_rows(frame, f"{source}#")


def _pick_split(loaded: object, split: str | None, where: str) -> object:
    import datasets

    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        chosen = split or ("train" if "train" in names else names[0] if len(names) == 1 else None)
        if chosen not in loaded:
            raise IngestError(f"{where}: choose a split with --split (have: {', '.join(names)})")
        return loaded[chosen]
    return loaded
