"""`export_rows`: resolved mixture rows -> train/val files in chat format plus a dataset card.

Rows arrive as a Polars DataFrame, a LazyFrame (collected in streaming batches) or any iterable
of DataFrames (e.g. one store query per chunk), and are written a batch at a time, so memory is
bounded by the batch size, not the mixture. Output goes to a temporary sibling folder that is
renamed into place at the end: a failed export leaves no half-written dataset behind.
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
from rich.progress import Progress

from curate.export.card import ExportMeta, ExportStats, render_card, safe_meta
from curate.export.chat import missing_columns, render
from curate.export.split import is_val
from curate.export.target import MANIFEST, ExportTargetError, check_target, is_export, mark
from curate.export.writers import JsonlWriter, ParquetWriter, SplitWriter, save_hf, write_json
from store.errors import InputError

Format = Literal["parquet", "jsonl", "hf"]
Rows = pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame]
FORMATS: tuple[str, ...] = ("parquet", "jsonl", "hf")


class ExportError(InputError):
    """An export that cannot be written as asked (bad input, folder in the way)."""


@dataclass
class ExportResult:
    out: Path
    format: str
    rows: dict[str, int]  # split -> rows
    files: list[Path]
    summary: dict


def _batches(rows: Rows, batch_rows: int) -> Iterator[pl.DataFrame]:
    if isinstance(rows, pl.DataFrame):
        yield from rows.iter_slices(batch_rows)
    elif isinstance(rows, pl.LazyFrame):
        yield from rows.collect_batches(chunk_size=batch_rows)
    else:
        for frame in rows:
            yield from frame.iter_slices(batch_rows)


def _prepare(out: Path, overwrite: bool, protect: Sequence[Path]) -> tuple[Path, Path]:
    """The checked target folder (see curate.export.target) and a new staging folder beside it."""
    try:
        target = check_target(out, overwrite, protect)
    except ExportTargetError as exc:
        raise ExportError(str(exc)) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    return target, staging


def _sweep(target: Path) -> None:
    """Remove what killed exports to `target` left beside it: staging folders whose process
    is gone, and a replaced previous export once the new one is in place (with no export in
    place, the replaced one is put back: it is the only copy)."""
    for left in target.parent.glob(f".{glob.escape(target.name)}.partial-*"):
        pid = left.name.rsplit(".partial-", 1)[1].split("-")[0]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(left, ignore_errors=True)
    for old in target.parent.glob(f".{glob.escape(target.name)}.replaced-*"):
        if not target.exists() and is_export(old):
            old.rename(target)
        else:
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _finish(staging: Path, target: Path, overwrite: bool, protect: Sequence[Path]) -> None:
    """Move the staging folder into place. The target is checked again (it may have changed
    while the export was written) and a previous export is renamed aside before it is removed,
    so a crash here leaves either export whole, never neither."""
    try:
        check_target(target, overwrite, protect)
    except ExportTargetError as exc:
        raise ExportError(str(exc)) from None
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.replaced-{uuid.uuid4().hex[:8]}"
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old)


def export_rows(
    rows: Rows,
    meta: ExportMeta,
    out: str | Path,
    *,
    fmt: Format = "parquet",
    val_fraction: float = 0.05,
    batch_rows: int = 100_000,
    overwrite: bool = False,
    total: int | None = None,
    protect: Sequence[Path] = (),
) -> ExportResult:
    """Write `rows` (columns format.INPUT_COLUMNS) as a chat dataset with a README.md card.

    parquet: train.parquet, val.parquet; jsonl: train.jsonl, val.jsonl; hf: a DatasetDict
    folder for `datasets.load_from_disk` (train, val). Also writes export.json (the card's
    numbers, machine-readable, marked as a teachable export). `out` must be new, empty or a
    previous export (replaced only with `overwrite`), and never a `protect`ed folder (the store),
    inside one or containing one (see curate.export.target)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}' (choose from {', '.join(FORMATS)})")
    if not 0 <= val_fraction < 1:
        raise ExportError(f"val_fraction must be in [0, 1), got {val_fraction}")
    out, staging = _prepare(Path(out), overwrite, protect)
    try:
        parquet_dir = staging / ".parquet" if fmt == "hf" else staging
        parquet_dir.mkdir(exist_ok=True)
        writer: SplitWriter = JsonlWriter(staging) if fmt == "jsonl" else ParquetWriter(parquet_dir)
        try:
            stats = _write_batches(rows, meta, writer, val_fraction, batch_rows, total)
        finally:
            files = writer.close()
        if fmt == "hf":
            files = save_hf(parquet_dir, staging)
            shutil.rmtree(parquet_dir)
        summary = stats.summary(val_fraction)
        names = [str(f.relative_to(staging)) for f in files]
        card = render_card(meta, summary, None if fmt == "hf" else names, fmt)
        (staging / "README.md").write_text(card, encoding="utf-8")
        manifest = mark({"format": fmt, **summary, "meta": safe_meta(meta)})
        write_json(staging / MANIFEST, manifest)
        _finish(staging, out, overwrite, protect)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(
        out=out,
        format=fmt,
        rows=summary["rows"],
        files=[out / name for name in names],
        summary=summary,
    )


def _write_batches(
    rows: Rows,
    meta: ExportMeta,
    writer: SplitWriter,
    val_fraction: float,
    batch_rows: int,
    total: int | None,
) -> ExportStats:
    stats = ExportStats()
    with Progress(transient=True) as progress:
        task = progress.add_task(f"export {meta.name}", total=total)
        for batch in _batches(rows, batch_rows):
            problem = missing_columns(batch.columns)
            if problem:
                raise ExportError(problem)
            val = is_val(batch["seed_id"], val_fraction)
            for split, part in (("train", batch.filter(~val)), ("val", batch.filter(val))):
                if part.height == 0:
                    continue
                record_batch, tokens = render(part, meta.system_prompt)
                writer.write(split, record_batch)
                stats.add(split, part, tokens)
            progress.advance(task, batch.height)
    return stats
