"""Read an exported mixture for training.

Accepted layouts (the export stage writes the first):
- a folder with `train.parquet` / `val.parquet` (or `.jsonl`, or shards `train-*.parquet`,
  `train/*.parquet`);
- a `datasets.save_to_disk` folder (a DatasetDict with `train` and `val`/`validation`).

Rows carry `messages` (system, user, assistant "<think>..</think>answer") for SFT and
`prompt` (system + user) with the reference `answer` for GRPO. `streaming=True` returns an
`IterableDataset` that reads Parquet batches lazily (large mixtures; the trainer then needs
`max_steps`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store.errors import InputError, NotFoundError

SFT_COLUMNS = ("messages",)
GRPO_COLUMNS = ("prompt", "answer", "answer_type", "tests")
_SPLIT_NAMES = {"train": ("train",), "val": ("val", "validation", "test")}
_FORMATS = (("parquet", ".parquet"), ("json", ".jsonl"), ("json", ".json"))


def load_split(
    path: str | Path,
    split: str = "train",
    columns: tuple[str, ...] | None = None,
    streaming: bool = False,
) -> Any:
    """One split of an export as a `datasets.Dataset` (or `IterableDataset` when streaming),
    reduced to `columns` that exist (required ones are checked by the caller's column set)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise NotFoundError(f"dataset folder not found: {root}")
    if _is_saved_dataset(root):
        dataset = _from_disk(root, split, streaming)
    else:
        dataset = _from_files(root, split, streaming)
    if columns is not None:
        dataset = _select(dataset, columns)
    return dataset


def has_split(path: str | Path, split: str) -> bool:
    root = Path(path).expanduser()
    if _is_saved_dataset(root):
        from datasets import load_from_disk

        return any(name in load_from_disk(str(root)) for name in _SPLIT_NAMES.get(split, (split,)))
    return bool(_split_files(root, split)[1])


def _is_saved_dataset(root: Path) -> bool:
    return (root / "dataset_dict.json").exists() or (root / "state.json").exists()


def _from_disk(root: Path, split: str, streaming: bool) -> Any:
    from datasets import Dataset, load_from_disk

    loaded = load_from_disk(str(root))
    if isinstance(loaded, Dataset):
        if split != "train":
            raise InputError(f"{root} holds one unsplit dataset; no {split!r} split")
        dataset = loaded
    else:
        names = [name for name in _SPLIT_NAMES.get(split, (split,)) if name in loaded]
        if not names:
            raise InputError(f"{root} has no {split!r} split (has {sorted(loaded)})")
        dataset = loaded[names[0]]
    # Arrow files on disk are memory-mapped already; streaming just avoids materialising maps.
    return dataset.to_iterable_dataset() if streaming else dataset


def _split_files(root: Path, split: str) -> tuple[str, list[str]]:
    for name in _SPLIT_NAMES.get(split, (split,)):
        for builder, suffix in _FORMATS:
            patterns = (f"{name}{suffix}", f"{name}-*{suffix}", f"{name}/*{suffix}")
            files = sorted(str(p) for pattern in patterns for p in root.glob(pattern))
            if files:
                return builder, files
    return "", []


def _from_files(root: Path, split: str, streaming: bool) -> Any:
    from datasets import load_dataset

    builder, files = _split_files(root, split)
    if not files:
        raise NotFoundError(f"no {split!r} split (.parquet or .jsonl) in {root}")
    return load_dataset(builder, data_files={split: files}, split=split, streaming=streaming)


def _select(dataset: Any, columns: tuple[str, ...]) -> Any:
    names = dataset.column_names
    if names is None:  # some streaming sources only know their columns after the first row
        names = list(next(iter(dataset)).keys())
    keep = [c for c in columns if c in names]
    return dataset.select_columns(keep)


def require_columns(dataset: Any, required: tuple[str, ...], path: str | Path) -> None:
    names = dataset.column_names or list(next(iter(dataset)).keys())
    missing = [c for c in required if c not in names]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; has {names}")
