"""`export`: a built mixture -> chat-format dataset files, through curate.export.

Rows are read from the store by one query at the mixture's snapshot, streamed in Arrow batches
bounded by rows and bytes, so a large mixture passes through `export_rows` without being held
whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import polars as pl
from pydantic import Field

from curate.export import ExportMeta, export_rows
from curate.export.declare import EXPORT_STAGE
from curate.mixtures.inputs import source
from curate.mixtures.recipe import parse_recipe
from curate.mixtures.review import mixture_fixes
from curate.mixtures.sample import excluded_kinds
from quality.review.corrections import apply as apply_fixes
from store import StageConfig, Store
from store.errors import InputError
from store.stream import record_batches
from store.tables import EXPORTS, MIXTURE_ITEMS, MIXTURES, QUESTIONS, SEEDS, TRACES
from synth.prompts import reasoning_system_prompt


class ExportConfig(StageConfig):
    mixture: str
    """Mixture name (its latest build) or a build's run id."""
    out: str
    """Output folder."""
    format: Literal["parquet", "jsonl", "hf"] = "parquet"
    """parquet | jsonl | hf."""
    val_fraction: float = Field(default=0.05, ge=0, lt=1)
    """Share of seeds held out for validation."""
    overwrite: bool = False
    """Replace an earlier export in `out`."""
    batch_rows: int = Field(default=100_000, ge=1)
    """Rows rendered and written per batch (memory bound)."""
    batch_mb: int = Field(default=64, ge=1)
    """Megabytes of text read per batch at most (long traces make few rows heavy)."""
    system_prompt_file: str | None = None
    """System prompt file (default synth's reasoning system prompt)."""


def system_prompt(path: str | None) -> tuple[str, str]:
    """The prompt text and where it came from."""
    prompt = reasoning_system_prompt(path)
    return prompt.text, prompt.source


def find_mixture(store: Store, mixture: str, at: int | None = None) -> dict[str, Any]:
    """The build of `mixture`: its current (latest) build by name, or the build with that run
    id."""
    if not store.has_table(MIXTURES.name, at):
        raise InputError(f"no mixtures in store {store.name}: run `teachable mix build` first")
    rows = store.latest(MIXTURES, at=at, where="name = ? OR run_id = ?", params=[mixture, mixture])
    if rows.height == 0:
        known = store.sql(f"SELECT DISTINCT name FROM {store.ref(MIXTURES.name, at)} ORDER BY name")
        raise InputError(
            f"no mixture '{mixture}' in store {store.name} (known: {known['name'].to_list()})"
        )
    return rows.row(0, named=True)


def _excluded_kinds(record: dict[str, Any]) -> list[str]:
    """The contamination kinds the build excluded (its recipe's `exclude_siblings`)."""
    recipe = parse_recipe(record["recipe"], f"mixture '{record['name']}'")
    return list(excluded_kinds(recipe.exclude_siblings))


def iter_rows(
    store: Store,
    record: dict[str, Any],
    batch_rows: int,
    batch_mb: int = 64,
    fixes: pl.DataFrame | None = None,
) -> Iterator[pl.DataFrame]:
    """Export input rows (curate.export.INPUT_COLUMNS) in position order, streamed from one
    query in Arrow batches of at most `batch_rows` rows and about `batch_mb` megabytes: the
    process holds one batch of texts; DuckDB sorts by position and spills what does not fit
    its memory limit to disk. `fixes` (curate.mixtures.review) replace the answers of the
    prompts they correct."""
    at = int(record["snapshot_id"])
    on_question = f"mi.item_table = '{QUESTIONS.name}'"
    query = f"""
        SELECT mi.trace_id AS id, mi.seed_id, mi.part, mi.domain, mi.band,
               CASE WHEN {on_question} THEN q.question ELSE s.problem END AS question,
               t.reasoning, t.answer_text,
               CASE WHEN {on_question} THEN q.answer ELSE s.answer END AS answer,
               CASE WHEN {on_question} THEN q.answer_type ELSE s.answer_type END AS answer_type,
               CASE WHEN {on_question} THEN q.tests ELSE s.tests END AS tests,
               mi.item_table AS prompt_table, mi.item_id AS prompt_id
        FROM (SELECT * FROM {store.ref(MIXTURE_ITEMS)} WHERE run_id = ?) mi
        JOIN {source(store, TRACES, at)} t ON t.trace_id = mi.trace_id
        LEFT JOIN {source(store, SEEDS, at)} s ON s.seed_id = mi.seed_id
        LEFT JOIN {source(store, QUESTIONS, at)} q ON q.question_id = mi.question_id
        ORDER BY mi.position
    """
    for batch in record_batches(
        store, query, [record["run_id"]], rows=batch_rows, max_bytes=batch_mb << 20
    ):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        if fixes is not None and fixes.height:
            frame = apply_fixes(frame, fixes, "prompt_table", "prompt_id").drop("answer_corrected")
        yield frame.drop("prompt_table", "prompt_id")


def run_export(store: Store, config: ExportConfig) -> dict[str, int]:
    with store.run(EXPORT_STAGE, config) as run:
        record = find_mixture(store, config.mixture, run.at)
        prompt, prompt_source = system_prompt(config.system_prompt_file)
        fixes, review = mixture_fixes(store, record)
        runs = json.loads(record["input_runs"] or "{}")
        meta = ExportMeta(
            name=record["name"],
            snapshot_id=int(record["snapshot_id"]),
            run_ids={"mix.build": [record["run_id"]], **runs},
            system_prompt=prompt,
            system_prompt_source=prompt_source,
            recipe_yaml=record["recipe"],
            sampling_seed=int(record["seed"]),
            parts=json.loads(record["counts"] or "{}"),
            decontamination=json.loads(record["decontamination"] or "{}"),
            decontamination_kinds=json.loads(record.get("decontamination_kinds") or "{}"),
            excluded_kinds=_excluded_kinds(record),
            exclusions={k: v for k, v in json.loads(record["exclusions"] or "{}").items() if v},
            review=review,
        )
        result = export_rows(
            iter_rows(store, record, config.batch_rows, config.batch_mb, fixes=fixes),
            meta,
            config.out,
            fmt=config.format,
            val_fraction=config.val_fraction,
            batch_rows=config.batch_rows,
            overwrite=config.overwrite,
            total=int(record["items"]),
            protect=store.protected_paths(),
        )
        row = {
            "mixture": record["name"],
            "mixture_run_id": record["run_id"],
            "format": config.format,
            "out": str(result.out.resolve()),
            "val_fraction": config.val_fraction,
            "train_rows": result.rows["train"],
            "val_rows": result.rows["val"],
        }
        run.insert(EXPORTS, pl.DataFrame([row]))
        return run.count_all({
            "train_rows": result.rows["train"], "val_rows": result.rows["val"],
            "answers_corrected": len(review["corrected"]),
        })  # fmt: skip
