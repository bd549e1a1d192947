"""Split writers: one streaming file per split (Parquet row groups, JSON lines appended)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from curate.export.chat import SCHEMA

SPLITS = ("train", "val")


class SplitWriter(Protocol):
    def write(self, split: str, batch: pa.RecordBatch) -> None: ...

    def close(self) -> list[Path]: ...


# dictionary pages and min/max statistics only where they help: on the long, unique message
# texts they cost a third of the write time and save nothing
_DICTIONARY = ["part", "domain", "band", "messages.list.element.role", "prompt.list.element.role"]
_STATISTICS = ["id", "seed_id", "part", "domain", "band"]


class ParquetWriter:
    """train.parquet and val.parquet, one row group per written batch (zstd)."""

    def __init__(self, out: Path, compression: str = "zstd") -> None:
        self._writers = {
            split: pq.ParquetWriter(
                out / f"{split}.parquet",
                SCHEMA,
                compression=compression,
                use_dictionary=_DICTIONARY,
                write_statistics=_STATISTICS,
            )
            for split in SPLITS
        }
        self._paths = [out / f"{split}.parquet" for split in SPLITS]

    def write(self, split: str, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._writers[split].write_batch(batch)

    def close(self) -> list[Path]:
        for writer in self._writers.values():
            writer.close()
        return self._paths


class JsonlWriter:
    """train.jsonl and val.jsonl, one JSON object per line, written a batch at a time."""

    def __init__(self, out: Path) -> None:
        self._paths = [out / f"{split}.jsonl" for split in SPLITS]
        self._files = {
            split: path.open("w", encoding="utf-8")
            for split, path in zip(SPLITS, self._paths, strict=True)
        }

    def write(self, split: str, batch: pa.RecordBatch) -> None:
        import polars as pl

        if batch.num_rows:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame.write_ndjson(self._files[split])

    def close(self) -> list[Path]:
        for handle in self._files.values():
            handle.close()
        return self._paths


def save_hf(parquet_dir: Path, out: Path) -> list[Path]:
    """Turn train/val Parquet files into a `datasets` DatasetDict folder (`load_from_disk`).

    `Dataset.from_parquet` converts through an Arrow cache in batches, so memory stays bounded.
    """
    from datasets import Dataset, DatasetDict

    cache = parquet_dir / ".hf-cache"
    splits = {
        split: Dataset.from_parquet(str(parquet_dir / f"{split}.parquet"), cache_dir=str(cache))
        for split in SPLITS
    }
    DatasetDict(splits).save_to_disk(str(out))
    return [out / "dataset_dict.json", *(out / split for split in SPLITS)]


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", "utf-8")
    return path
