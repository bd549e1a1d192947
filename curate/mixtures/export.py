"""`export`: a built mixture -> chat-format dataset files, through store.export.

Rows are read from the store in chunks of mixture positions (one query each, at the mixture's
snapshot), so a large mixture streams through `export_rows` without being held whole.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.mixtures.inputs import source
from curate.mixtures.tables import EXPORTS
from store import Store
from store.export import ExportMeta, export_rows

# used when synth's prompt file cannot be found (it ships as synth/prompts/reasoning_system.txt)
FALLBACK_SYSTEM_PROMPT = (
    "You are a careful reasoning assistant. Think through the problem step by step between "
    "<think> and </think>, then give a short solution ending with the final answer in the form "
    "\\boxed{ANSWER}."
)


class ExportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mixture: str  # mixture name (its latest build) or a build's run id
    out: str
    format: Literal["parquet", "jsonl", "hf"] = "parquet"
    val_fraction: float = Field(default=0.05, ge=0, lt=1)
    overwrite: bool = False
    batch_rows: int = Field(default=100_000, ge=1)
    system_prompt_file: str | None = None  # default: synth's reasoning system prompt


def system_prompt(path: str | None) -> tuple[str, str]:
    """The prompt text and where it came from."""
    if path is not None:
        return Path(path).read_text(encoding="utf-8"), path
    spec = importlib.util.find_spec("synth")  # locate the file without importing synth
    if spec and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "prompts" / "reasoning_system.txt"
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8"), "synth/prompts/reasoning_system.txt"
    return FALLBACK_SYSTEM_PROMPT, "built-in fallback (synth prompt file not found)"


def find_mixture(store: Store, mixture: str) -> dict[str, Any]:
    if not store.has_table("mixtures"):
        raise ValueError(f"no mixtures in store {store.root}: run `teachable mix build` first")
    rows = store.sql(
        "SELECT * FROM mixtures WHERE name = ? OR run_id = ? ORDER BY created_at DESC LIMIT 1",
        [mixture, mixture],
    )
    if rows.height == 0:
        known = store.sql("SELECT DISTINCT name FROM mixtures ORDER BY name")["name"].to_list()
        raise ValueError(f"no mixture '{mixture}' in store {store.root} (known: {known})")
    return rows.row(0, named=True)


def iter_rows(store: Store, record: dict[str, Any], chunk_rows: int) -> Iterator[pl.DataFrame]:
    """Export input rows (store.export.INPUT_COLUMNS) in position order, a chunk at a time."""
    at = int(record["snapshot_id"])
    query = f"""
        SELECT mi.trace_id AS id, mi.seed_id, mi.part, mi.domain, mi.band,
               CASE WHEN mi.item_table = 'questions' THEN q.question ELSE s.problem END
                 AS question,
               t.reasoning, t.answer_text,
               CASE WHEN mi.item_table = 'questions' THEN q.answer ELSE s.answer END AS answer,
               CASE WHEN mi.item_table = 'questions' THEN q.answer_type ELSE s.answer_type END
                 AS answer_type
        FROM (SELECT * FROM mixture_items WHERE run_id = ? AND position >= ? AND position < ?) mi
        JOIN {source(store, "traces", at)} t ON t.trace_id = mi.trace_id
        LEFT JOIN {source(store, "seeds", at)} s ON s.seed_id = mi.seed_id
        LEFT JOIN {source(store, "questions", at)} q ON q.question_id = mi.question_id
        ORDER BY mi.position
    """
    for start in range(0, int(record["items"]), chunk_rows):
        yield store.sql(query, [record["run_id"], start, start + chunk_rows])


def run_export(store: Store, config: ExportConfig) -> dict[str, int]:
    record = find_mixture(store, config.mixture)
    prompt, prompt_source = system_prompt(config.system_prompt_file)
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
        exclusions={k: v for k, v in json.loads(record["exclusions"] or "{}").items() if v},
    )
    result = export_rows(
        iter_rows(store, record, chunk_rows=4 * config.batch_rows),
        meta,
        config.out,
        fmt=config.format,
        val_fraction=config.val_fraction,
        batch_rows=config.batch_rows,
        overwrite=config.overwrite,
        total=int(record["items"]),
    )
    with store.run("export", config) as run:
        row = {
            "mixture": record["name"],
            "mixture_run_id": record["run_id"],
            "format": config.format,
            "out": str(result.out.resolve()),
            "val_fraction": config.val_fraction,
            "train_rows": result.rows["train"],
            "val_rows": result.rows["val"],
            "run_id": run.id,
        }
        run.insert(EXPORTS, pl.DataFrame([row]))
        run.count("train_rows", result.rows["train"])
        run.count("val_rows", result.rows["val"])
        return dict(run.counts)
