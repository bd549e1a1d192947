"""Read a seed source into a Polars frame of records plus a `_loc` column (file:line or row).

Formats: .jsonl (.gz), .json, .parquet, .csv, a `datasets.save_to_disk` folder, or
`hf:owner/name[:config]`. A reader sets aside what breaks a record itself (bytes that are not
UTF-8, malformed JSON, a ragged CSV row, damaged compressed data); what is wrong with a field's
value (its type, its text) is judged afterwards for every format alike, in `validate`. Damage
with no record boundary to resume from (an unreadable Parquet file, a .json document that does
not parse) fails in both on_error modes.

Every reader yields its records in batches (`iter_source`), each about `BATCH_BYTES` of source
data, so ingesting a large file holds one batch at a time: JSONL (plain or gzip) in blocks of
lines, Parquet by record batches, dataset folders by slices of their memory-mapped table. A .json
document is parsed whole (there is no record boundary before the end) and then handed over in
batches; CSV in blocks cut at record ends. Locations run on across batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from curate.seeds.csv_reader import iter_csv
from curate.seeds.errors import IngestError
from curate.seeds.jsonl import BATCH_BYTES, iter_jsonl, read_json
from curate.seeds.records import LOC, Reject, SourceRecords

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

__all__ = ["BATCH_BYTES", "LOC", "Reject", "SourceRecords", "iter_source", "read_source"]


def read_source(source: str, *, split: str | None, skip_bad: bool) -> SourceRecords:
    """The whole source as one batch (benchmark files, tests). A Parquet file's row groups or a
    dataset's table chunks still come as batches of one schema: they are joined here."""
    batches = list(iter_source(source, split=split, skip_bad=skip_bad, batch_bytes=None))
    if len(batches) == 1:
        return batches[0]
    frame = pl.concat([b.frame for b in batches], how="diagonal_relaxed")
    return SourceRecords(frame, [r for b in batches for r in b.rejects])


def iter_source(
    source: str, *, split: str | None, skip_bad: bool, batch_bytes: int | None = BATCH_BYTES
) -> Iterator[SourceRecords]:
    """The source's records in batches of about `batch_bytes` of source data (None: one)."""
    if source.startswith("hf:"):
        yield from _read_hf(source, split, batch_bytes)
        return
    # one spelling of each file (relative, ./, absolute, through a symlink): its rows' locations
    # are their provenance, so the same file ingested twice is the same source rows
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise IngestError(f"{source}: no such file or folder")
    if path.is_dir():
        yield from _read_saved_dataset(path, split, batch_bytes)
        return
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        yield from iter_jsonl(path, skip_bad, batch_bytes)
    elif name.endswith((".json", ".json.gz")):
        yield from _in_batches(read_json(path, skip_bad), batch_bytes)
    elif name.endswith(".parquet"):
        yield from _read_parquet(path, batch_bytes)
    elif name.endswith(".csv"):
        yield from iter_csv(path, skip_bad, batch_bytes)
    else:
        raise IngestError(
            f"{source}: unknown format (expected .jsonl, .jsonl.gz, .json, .parquet, .csv, "
            "a datasets.save_to_disk folder, or hf:owner/name[:config])"
        )


def _read_parquet(path: Path, batch_bytes: int | None) -> Iterator[SourceRecords]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        meta = file.metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        rows = _rows_per_batch(meta.num_rows, size, batch_bytes)
        batches = file.iter_batches(batch_size=rows)
        yield from _arrow_rows(batches, f"{path}#row", str(path), "empty file")
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"{path}: cannot be read: {exc}") from exc


def _rows_per_batch(rows: int, size: int, batch_bytes: int | None) -> int:
    if batch_bytes is None or rows == 0:
        return max(rows, 1)
    return max(1, min(rows, batch_bytes * rows // max(size, 1)))


def _arrow_rows(
    batches: Iterator[pa.RecordBatch], prefix: str, where: str, empty: str
) -> Iterator[SourceRecords]:
    """Record batches as records located by row index, `prefix` + index."""
    start = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield _with_rows(frame, prefix, start)
        start += frame.height
    if start == 0:
        raise IngestError(f"{where}: {empty}, no records")


def _in_batches(records: SourceRecords, batch_bytes: int | None) -> Iterator[SourceRecords]:
    """A source read whole, handed over in row batches (its rejects with the first)."""
    frame = records.frame
    rows = _rows_per_batch(frame.height, int(frame.estimated_size()), batch_bytes)
    for start in range(0, max(frame.height, 1), rows):
        rejects = records.rejects if start == 0 else []
        yield SourceRecords(frame.slice(start, rows), rejects)


def _with_rows(frame: pl.DataFrame, prefix: str, start: int = 0) -> SourceRecords:
    locs = pl.int_range(start, start + frame.height, eager=True).cast(pl.String)
    return SourceRecords.of(frame, pl.lit(prefix) + locs)


def _read_saved_dataset(
    path: Path, split: str | None, batch_bytes: int | None
) -> Iterator[SourceRecords]:
    import datasets
    import pyarrow as pa

    try:
        loaded = datasets.load_from_disk(str(path))
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise IngestError(f"{path}: not a folder saved by datasets.save_to_disk: {exc}") from exc
    yield from _dataset_rows(_pick_split(loaded, split, str(path)), f"{path}#", batch_bytes)


def _read_hf(source: str, split: str | None, batch_bytes: int | None) -> Iterator[SourceRecords]:
    import datasets

    name, _, config = source.removeprefix("hf:").partition(":")
    try:
        loaded = datasets.load_dataset(name, config or None, split=split or "train")
    except Exception as exc:  # datasets raises many types (network, missing config, ...)
        raise IngestError(f"{source}: could not load from the Hugging Face hub: {exc}") from exc
    yield from _dataset_rows(loaded, f"{source}#", batch_bytes)


def _dataset_rows(
    dataset: datasets.Dataset, prefix: str, batch_bytes: int | None
) -> Iterator[SourceRecords]:
    """The dataset's rows (its table is memory-mapped: a batch is read when it is used)."""
    table = dataset.data.table
    rows = _rows_per_batch(table.num_rows, table.nbytes, batch_bytes)
    batches = iter(table.to_batches(max_chunksize=rows))
    yield from _arrow_rows(batches, prefix, prefix.removesuffix("#"), "empty dataset")


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
