"""Read a seed source into a Polars frame of records plus a `_loc` column (file:line or row).

Formats: .jsonl (.gz), .json, .parquet, .csv, a `datasets.save_to_disk` folder, or
`hf:owner/name[:config]`. A reader sets aside what breaks a record itself (bytes that are not
UTF-8, malformed JSON, a ragged CSV row, damaged compressed data); what is wrong with a field's
value (its type, its text) is judged afterwards for every format alike, in `validate`. Damage
with no record boundary to resume from (an unreadable Parquet file, a .json document that does
not parse) fails in both on_error modes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from curate.seeds.csv_reader import read_csv
from curate.seeds.errors import IngestError
from curate.seeds.jsonl import read_json, read_jsonl
from curate.seeds.records import LOC, Reject, SourceRecords

if TYPE_CHECKING:
    import datasets

__all__ = ["LOC", "Reject", "SourceRecords", "read_source"]


def read_source(source: str, *, split: str | None, skip_bad: bool) -> SourceRecords:
    if source.startswith("hf:"):
        return _read_hf(source, split)
    # one spelling of each file (relative, ./, absolute, through a symlink): its rows' locations
    # are their provenance, so the same file ingested twice is the same source rows
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise IngestError(f"{source}: no such file or folder")
    if path.is_dir():
        return _read_saved_dataset(path, split)
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return read_jsonl(path, skip_bad)
    if name.endswith((".json", ".json.gz")):
        return read_json(path, skip_bad)
    if name.endswith(".parquet"):
        return _with_rows(_checked(path, lambda: pl.read_parquet(path)), f"{path}#row")
    if name.endswith(".csv"):
        return read_csv(path, skip_bad)
    raise IngestError(
        f"{source}: unknown format (expected .jsonl, .jsonl.gz, .json, .parquet, .csv, "
        "a datasets.save_to_disk folder, or hf:owner/name[:config])"
    )


def _checked(path: Path, read: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    try:
        frame = read()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IngestError(f"{path}: cannot be read: {exc}") from exc
    if frame.height == 0:
        raise IngestError(f"{path}: empty file, no records")
    return frame


def _with_rows(frame: pl.DataFrame, prefix: str, start: int = 0) -> SourceRecords:
    locs = pl.int_range(start, start + frame.height, eager=True).cast(pl.String)
    return SourceRecords.of(frame, pl.lit(prefix) + locs)


def _read_saved_dataset(path: Path, split: str | None) -> SourceRecords:
    import datasets
    import pyarrow as pa

    try:
        loaded = datasets.load_from_disk(str(path))
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise IngestError(f"{path}: not a folder saved by datasets.save_to_disk: {exc}") from exc
    return _dataset_rows(_pick_split(loaded, split, str(path)), f"{path}#")


def _read_hf(source: str, split: str | None) -> SourceRecords:
    import datasets

    name, _, config = source.removeprefix("hf:").partition(":")
    try:
        loaded = datasets.load_dataset(name, config or None, split=split or "train")
    except Exception as exc:  # datasets raises many types (network, missing config, ...)
        raise IngestError(f"{source}: could not load from the Hugging Face hub: {exc}") from exc
    return _dataset_rows(loaded, f"{source}#")


def _dataset_rows(dataset: datasets.Dataset, prefix: str) -> SourceRecords:
    frame = pl.from_arrow(dataset.data.table)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        raise IngestError(f"{prefix.removesuffix('#')}: empty dataset, no records")
    return _with_rows(frame, prefix)


def _pick_split(loaded: object, split: str | None, where: str) -> datasets.Dataset:
    """The split asked for; without --split, `train` or the only split there is."""
    import datasets

    if not isinstance(loaded, datasets.DatasetDict):
        assert isinstance(loaded, datasets.Dataset)
        return loaded
    names = ", ".join(loaded) or "none"
    if split is not None:
        if split not in loaded:
            raise IngestError(f"{where}: split '{split}' not found (have: {names})")
        return loaded[split]
    if "train" in loaded or len(loaded) == 1:
        return loaded["train" if "train" in loaded else next(iter(loaded))]
    raise IngestError(f"{where}: choose a split with --split (have: {names})")
