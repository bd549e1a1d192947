"""Seed ingestion: any source -> normalized, content-addressed seeds with provenance."""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from curate.seeds.answers import split_answers
from curate.seeds.errors import IngestError
from curate.seeds.normalize import content_ids, normalize_expr
from curate.seeds.readers import LOC, Reject, SourceRecords, read_source
from curate.seeds.tables import REJECTS, SEED_SOURCES, SEEDS
from store import Run, StageConfig, Store

PROBLEM_FIELDS = ("problem", "question", "prompt", "input", "instruction")
ANSWER_FIELDS = ("answer", "final_answer", "solution", "target", "output")
_BATCH = 100_000


class IngestConfig(StageConfig):
    source: str
    """File, save_to_disk folder, or hf:owner/name[:config]."""
    name: str
    """Source name recorded with each seed."""
    domain: str = "math"
    """Domain of these seeds."""
    problem_field: str | None = None
    """Field holding the problem (default: the first of problem, question, prompt, ...)."""
    answer_field: str | None = None
    """Field holding the answer or worked solution."""
    id_field: str | None = None
    """Field used as the source row reference."""
    split: str | None = None
    """Split of a dataset folder or hf: source."""
    limit: int | None = Field(default=None, ge=1)
    """Ingest only the first N records."""
    on_error: Literal["fail", "skip"] = "fail"
    """fail | skip (bad rows go to `rejects`)."""
    license: str | None = None
    """License or notes for this source."""


def run_ingest(store: Store, config: IngestConfig) -> dict[str, int]:
    """Ingest one source; exact duplicates (same normalized problem) are stored once, while
    every source occurrence is kept in `seed_sources`. Re-running adds nothing."""
    with store.run("seeds.add", config) as run:
        records = read_source(config.source, split=config.split, skip_bad=config.on_error == "skip")
        if config.limit is not None:
            records.frame = records.frame.head(config.limit)
        run.count("rows_read", records.frame.height + len(records.rejects))
        frame, rejects = _map_fields(records, config)
        store_seed_frame(
            run, frame, source=config.name, domain=config.domain, license=config.license
        )
        _write_rejects(run, config.name, [*records.rejects, *rejects])
        return dict(run.counts)


def store_seed_frame(
    run: Run, frame: pl.DataFrame, *, source: str, domain: str, license: str | None
) -> None:
    """Insert mapped records (columns problem, answer_raw, ref, level_raw, _loc) as seeds plus
    their provenance rows."""
    seeds = _build_seeds(frame, source, domain, license, run)
    run.insert(SEEDS, seeds, unique_on=["seed_id"])
    sources = seeds.select("seed_id", "source", "source_ref", "run_id")
    run.insert(SEED_SOURCES, sources, unique_on=["seed_id", "source", "source_ref"])
    run.count("duplicates_in_source", frame.height - seeds["seed_id"].n_unique())


def _pick(
    columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, where: str
) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise IngestError(
                f"{where}: field '{wanted}' (--{what}-field) is missing; fields: {columns}"
            )
        return wanted
    return next((c for c in candidates if c in columns), None)


def _map_fields(records: SourceRecords, config: IngestConfig) -> tuple[pl.DataFrame, list[Reject]]:
    frame = records.frame
    columns = [c for c in frame.columns if c != LOC]
    first = frame[LOC][0] if frame.height else config.source
    problem = _pick(columns, config.problem_field, PROBLEM_FIELDS, "problem", first)
    if problem is None:
        raise IngestError(
            f"{first}: no problem field found (tried {PROBLEM_FIELDS}); set --problem-field"
        )
    answer = _pick(columns, config.answer_field, ANSWER_FIELDS, "answer", first)
    id_field = _pick(columns, config.id_field, (), "id", first)
    required = [problem] + [f for f in (config.answer_field, config.id_field) if f]
    selected = {"problem": problem, "answer_raw": answer, "ref": id_field, "level_raw": "level"}
    out = frame.select(
        LOC,
        *[
            _as_text(frame, col).alias(alias)
            if col in columns
            else pl.lit(None, pl.String).alias(alias)
            for alias, col in selected.items()
        ],
    )
    reasons = []
    for field in required:
        alias = next(a for a, c in selected.items() if c == field)
        missing = pl.col(alias).is_null() | (pl.col(alias).str.strip_chars() == "")
        reasons.append(pl.when(missing).then(pl.lit(f"{field}")))
    out = out.with_columns(pl.coalesce(reasons).alias("_bad_field"))
    broken = out.filter(pl.col("_bad_field").is_not_null())
    if broken.height and config.on_error == "fail":
        row = broken.row(0, named=True)
        raise IngestError(
            f"{row[LOC]}: field '{row['_bad_field']}' is missing or empty "
            f"({broken.height} such rows; --on-error skip sets them aside in `rejects`)"
        )
    rejects = [
        Reject(r[LOC], r["_bad_field"], "missing or empty field", str(r["problem"])[:500])
        for r in broken.iter_rows(named=True)
    ]
    return out.filter(pl.col("_bad_field").is_null()).drop("_bad_field"), rejects


def _as_text(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    if dtype == pl.String:
        return pl.col(column)
    if dtype.is_nested() or dtype == pl.Object:
        return pl.col(column).map_elements(str, return_dtype=pl.String)
    return pl.col(column).cast(pl.String)


def _build_seeds(
    frame: pl.DataFrame, source: str, domain: str, license: str | None, run: Run
) -> pl.DataFrame:
    # the streaming engine splits the column into morsels across cores; an eager call on one
    # chunk (what the reader hands over) runs on a single core, 2x slower here
    frame = (
        frame.lazy()
        .with_columns(normalize_expr("problem").alias("problem"))
        .collect(engine="streaming")
    )
    ids: list[pl.Series] = []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=frame.height < 2 * _BATCH,
    ) as progress:
        task = progress.add_task(f"hashing {source}", total=frame.height)
        for start in range(0, frame.height, _BATCH):
            ids.append(content_ids(frame["problem"].slice(start, _BATCH)))
            progress.advance(task, min(_BATCH, frame.height - start))
    seed_ids = pl.concat(ids) if ids else pl.Series("problem", [], dtype=pl.String)
    answers = split_answers(frame["answer_raw"])
    level = frame["level_raw"].str.extract(r"(\d+)", 1).cast(pl.Int32, strict=False)
    ref = pl.when(pl.col("ref").is_not_null()).then(pl.col("ref")).otherwise(pl.col(LOC))
    return frame.select(
        seed_ids.alias("seed_id"),
        pl.lit(source).alias("source"),
        ref.alias("source_ref"),
        pl.lit(domain).alias("domain"),
        "problem",
        answers["answer"].alias("answer"),
        answers["solution"].alias("solution"),
        answers["answer_type"].alias("answer_type"),
        level.alias("level"),
        pl.lit(license, pl.String).alias("license"),
        pl.lit(run.id).alias("run_id"),
    )


def _write_rejects(run: Run, source: str, rejects: list[Reject]) -> None:
    if not rejects:
        return
    frame = pl.DataFrame(
        {
            "source": [source] * len(rejects),
            "location": [r.location for r in rejects],
            "field": [r.field for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
            "run_id": [run.id] * len(rejects),
        }
    )
    run.insert(REJECTS, frame)
    run.count("rejected", len(rejects))
