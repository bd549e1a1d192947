"""Loading exported mixtures: parquet, jsonl, save_to_disk folders, streaming."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_fixture import write_export

from train.data import GRPO_COLUMNS, SFT_COLUMNS, has_split, load_split, require_columns


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_file_exports_load_both_splits(tmp_path: Path, fmt: str):
    folder = write_export(tmp_path / fmt, n_train=6, n_val=3, fmt=fmt)
    train = load_split(folder, "train", SFT_COLUMNS)
    val = load_split(folder, "val", GRPO_COLUMNS)
    assert train.column_names == ["messages"] and len(train) == 6
    assert val.column_names == ["prompt", "answer"] and len(val) == 3
    roles = [m["role"] for m in train[0]["messages"]]
    assert roles == ["system", "user", "assistant"]
    assert train[0]["messages"][2]["content"].startswith("<think>")
    assert [m["role"] for m in val[0]["prompt"]] == ["system", "user"]


def test_save_to_disk_folder_and_validation_alias(tmp_path: Path, export_dir: Path):
    from datasets import DatasetDict

    parts = {"train": load_split(export_dir, "train"), "validation": load_split(export_dir, "val")}
    DatasetDict(parts).save_to_disk(str(tmp_path / "hf"))
    train = load_split(tmp_path / "hf", "train", SFT_COLUMNS)
    assert len(train) == 8 and train.column_names == ["messages"]
    assert has_split(tmp_path / "hf", "val")
    assert len(load_split(tmp_path / "hf", "val")) == 4


def test_streaming_reads_rows_lazily(export_dir: Path):
    from datasets import IterableDataset

    stream = load_split(export_dir, "train", GRPO_COLUMNS, streaming=True)
    assert isinstance(stream, IterableDataset)
    rows = list(stream)
    assert len(rows) == 8 and set(rows[0]) == {"prompt", "answer"}


def test_sharded_files_are_one_split(tmp_path: Path, export_dir: Path):
    import shutil

    (tmp_path / "train").mkdir()
    for i in range(2):
        shutil.copy(export_dir / "train.parquet", tmp_path / "train" / f"part-{i}.parquet")
    assert len(load_split(tmp_path, "train")) == 16
    assert not has_split(tmp_path, "val")


def test_missing_folder_split_and_columns_are_clear_errors(tmp_path: Path, export_dir: Path):
    with pytest.raises(FileNotFoundError):
        load_split(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="'val'"):
        load_split(tmp_path, "val")
    only_answer = load_split(export_dir, "train", ("answer",))
    with pytest.raises(ValueError, match="prompt"):
        require_columns(only_answer, ("prompt", "answer"), export_dir)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "hf"])
def test_reads_what_the_export_stage_writes(tmp_path: Path, fmt: str):
    """Contract with curate.export: every format it writes loads for SFT and GRPO."""
    import polars as pl

    from curate.export import ExportMeta, export_rows

    n = 40
    rows = pl.DataFrame(
        {
            "id": [f"q{i}" for i in range(n)],
            "seed_id": [f"s{i // 2}" for i in range(n)],
            "part": ["sums"] * n,
            "domain": ["math"] * n,
            "band": ["teachable"] * n,
            "question": [f"What is {i} + 1?" for i in range(n)],
            "reasoning": [f"{i} plus 1 is {i + 1}." for i in range(n)],
            "answer_text": [f"The answer is {i + 1}." for i in range(n)],
            "answer": [str(i + 1) for i in range(n)],
        }
    )
    meta = ExportMeta(name="contract", system_prompt="Think first.")
    export_rows(rows, meta, tmp_path / fmt, fmt=fmt, val_fraction=0.25)
    train = load_split(tmp_path / fmt, "train", SFT_COLUMNS)
    val = load_split(tmp_path / fmt, "val", GRPO_COLUMNS)
    assert len(train) + len(val) == n and len(val) > 0
    roles = [m["role"] for m in train[0]["messages"]]
    assert roles == ["system", "user", "assistant"]
    assert train[0]["messages"][2]["content"].startswith("<think>")
    assert [m["role"] for m in val[0]["prompt"]] == ["system", "user"]
    assert val[0]["answer"].isdigit()
