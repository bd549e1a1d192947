"""`teachable eval`: sample a model N times on every item of some benchmarks, score each sample
with the answer checker into `evals`, and summarize each benchmark into `eval_summaries`.

Usage:
    run_eval(store, EvalConfig(model="runs/sft", benchmarks=["gsm8k_test"], samples=8, limit=50))
    teachable eval --model runs/sft -b gsm8k_test -b math500 --samples 8 --limit 50
    teachable eval --model models/o3-mini.yaml -b aime24 --samples 32
    teachable eval --selection heldout --samples 4 --label base     # seeds of the store

Every sample is its own request (n=1) with seed base + i, through the request cache: a re-run
sends nothing, and N=8 after N=4 sends only samples 4..7. Rows are keyed by (model hash,
benchmark, item, item hash, sample), so a retrained checkpoint (new weights fingerprint) or an
edited benchmark item is scored afresh. A benchmark is summarized only when every item has all
N samples; samples that failed stay in the request cache as failures and are retried next run.
"""

from __future__ import annotations

import json
import logging

import polars as pl
import xxhash
from pydantic import Field, model_validator

from curate.evaluation.declare import EVAL_STAGE
from curate.evaluation.grading import graded_rows, summary_figures
from curate.evaluation.items import (
    Benchmark,
    registry_benchmark,
    store_benchmark,
)
from curate.evaluation.lineage import EvalModel, eval_model, export_run
from store import Run, StageConfig, Store
from store.errors import InputError
from store.sql import SqlCondition
from store.tables import EVAL_SUMMARIES, EVALS
from synth.backends import Backend, ChatRequest
from synth.generate import Budget
from synth.models import ModelConfig
from synth.prompts import reasoning_system_prompt
from synth.session import FailurePolicy, model_session
from synth.sizes import MAX_SAMPLES, check_size

log = logging.getLogger("teachable.eval")


class EvalConfig(StageConfig, FailurePolicy):
    model: str | ModelConfig | None = None
    """A `teachable train` output folder or other HF model folder (transformers backend), a
    model config YAML, an embedded model name, a .gguf file, an inline config; None: SmolLM2."""
    benchmarks: list[str] = Field(default_factory=list)
    """Registry benchmark names, or benchmark files (.jsonl/.parquet/.csv: id, problem, answer)."""
    registry: str | None = None
    """Benchmark registry YAML (default: $TEACHABLE_BENCHMARKS, else the shipped one)."""
    selection: str | None = None
    """Also evaluate on the seeds of this named selection (`teachable select --name`)."""
    where: SqlCondition = None
    """Also evaluate on the seeds matching this SQL condition (with --selection: narrows it)."""
    samples: int = Field(default=4, ge=1, le=MAX_SAMPLES)
    """N samples per item; raising N later pays only for the new samples."""
    limit: int | None = Field(default=None, ge=1)
    """Only the first N items of each benchmark."""
    label: str | None = None
    """Model name in tables and reports (default: the checkpoint folder's or model's name)."""
    temperature: float | None = Field(default=None, ge=0)
    """Override the model's sampling temperature."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Max completion length per sample (overrides the model's max_tokens)."""
    seed: int | None = None
    """Base seed (sample i uses seed + i); default the model's."""
    system_prompt_file: str | None = None
    """System prompt file (default: synth's reasoning prompt, as traces and exports use; an
    empty file: no system prompt)."""
    budget_total: int | None = Field(default=None, ge=1)
    """Stop sending once this many prompt+completion tokens would be spent by this run."""
    budget_usd: float | None = Field(default=None, gt=0)
    """Stop sending once this many US dollars would be spent by this run."""

    @model_validator(mode="after")
    def _has_items(self) -> EvalConfig:
        if not (self.benchmarks or self.selection or self.where):
            raise InputError("name something to evaluate on: benchmarks, selection or where")
        return self


def system_prompt(path: str | None) -> str | None:
    text = reasoning_system_prompt(path).text.strip()
    return text or None


def eval_model_of(config: EvalConfig) -> EvalModel:
    """The model an eval config scores, with its hash and lineage (no weights are loaded)."""
    return eval_model(
        config.model,
        system_prompt(config.system_prompt_file),
        config.label,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        seed=config.seed,
    )


def run_eval(store: Store, config: EvalConfig, backend: Backend | None = None) -> dict[str, int]:
    """Run the eval; `backend` replaces the configured model's (tests inject faults with it)."""
    model = eval_model_of(config)
    with store.run(EVAL_STAGE, config) as run:
        benchmarks = load_benchmarks(store, config, run.at)
        check_size("--samples", config.samples, sum(b.items.height for b in benchmarks))
        expected = expected_rows(benchmarks, model, config.samples)
        todo = run.todo(expected, EVALS, on="eval_id")
        new, stats = sample(store, model, todo, config, backend)
        # read before the first write: inside the write transaction DuckLake shows this run's
        # own rows even in a read pinned at run.at
        stored = stored_rows(run, model, expected)
        run.insert(EVALS, new)
        rows = pl.concat([stored, new], how="vertical_relaxed")
        summaries = summary_rows(store, run, model, benchmarks, rows, config.samples)
        run.insert(EVAL_SUMMARIES, summaries)
        return run.count_all(
            {
                "items": sum(b.items.height for b in benchmarks),
                "items_without_answer": sum(b.without_answer for b in benchmarks),
                "samples": expected.height,
                "samples_done_before": expected.height - todo.height,
                "correct": int(rows["correct"].sum() or 0),
                **stats,
                "benchmarks_incomplete": len(benchmarks) - summaries.height,
            }
        )


def load_benchmarks(store: Store, config: EvalConfig, at: int) -> list[Benchmark]:
    found = [registry_benchmark(n, config.registry, config.limit) for n in config.benchmarks]
    if config.selection or config.where:
        found.append(store_benchmark(store, config.selection, config.where, at, config.limit))
    names = [b.name for b in found]
    if len(set(names)) < len(names):
        raise InputError(f"benchmarks named twice: {names}")
    return found


def eval_id(model: str, benchmark: str, item_id: str, item_hash: str, sample: int) -> str:
    return xxhash.xxh3_128_hexdigest(f"{model}|{benchmark}|{item_id}|{item_hash}|{sample}".encode())


def expected_rows(benchmarks: list[Benchmark], model: EvalModel, samples: int) -> pl.DataFrame:
    """One row per (item, sample) the config asks for, with its eval_id."""
    items = pl.concat([b.items for b in benchmarks], how="vertical_relaxed")
    rows = items.join(pl.DataFrame({"sample": list(range(samples))}), how="cross")
    ids = [
        eval_id(model.hash, *key)
        for key in rows.select("benchmark", "item_id", "item_hash", "sample").iter_rows()
    ]
    return rows.with_columns(
        pl.Series("eval_id", ids, dtype=pl.String),
        model=pl.lit(model.hash),
        model_name=pl.lit(model.label),
    )


def sample(
    store: Store,
    model: EvalModel,
    todo: pl.DataFrame,
    config: EvalConfig,
    backend: Backend | None = None,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Graded rows for the samples still to do, and the call statistics."""
    if todo.height == 0:
        return graded_rows(todo, []), {}
    base_seed = int(model.config.params.get("seed", 0))
    prefix = [{"role": "system", "content": model.system}] if model.system else []
    requests = [
        ChatRequest(messages=[*prefix, {"role": "user", "content": text}], seed=base_seed + i)
        for text, i in todo.select("text", "sample").iter_rows()
    ]
    budget = Budget(max_tokens=config.budget_total, max_cost_usd=config.budget_usd)
    share = config.max_failed_share
    with model_session(store, backend or model.config, max_failed_share=share) as models:
        result = models.generate(requests, budget=budget, label=f"eval {model.label}")
        completions = [row[0] for row in result.completions]
        _refuse_nothing(model, completions)
    if result.stopped:
        log.warning("eval: %s", result.stopped)
    stats = {k: int(result.stats.get(k, 0)) for k in ("sent", "cached", "failed", "not_sent")}
    return graded_rows(todo, completions), stats


def _refuse_nothing(model: EvalModel, completions: list) -> None:
    """A model that answered nothing at all (every sample failed or came back empty) is an
    error, not a 0% score."""
    said = [c for c in completions if c is not None and c.ok and (c.text or c.reasoning)]
    if completions and not said:
        errors = [c.error for c in completions if c is not None and c.error]
        why = f"every request failed, e.g. {errors[0]}" if errors else "every response was empty"
        raise InputError(
            f"model {model.label!r} returned nothing for {len(completions)} samples "
            f"({why}); nothing was written"
        )
    failed = sum(1 for c in completions if c is None or not c.ok)
    if failed:
        log.warning(
            "eval: %d of %d samples did not finish; their benchmarks are not summarized until "
            "a re-run completes them (finished samples are cached)",
            failed, len(completions),
        )  # fmt: skip


def stored_rows(run: Run, model: EvalModel, expected: pl.DataFrame) -> pl.DataFrame:
    """The `evals` rows already stored for the expected samples."""
    if not run.has_table(EVALS.name):
        return pl.DataFrame(schema=graded_rows(expected.head(0), []).schema)
    rows = run.sql(f"SELECT * FROM {run.ref(EVALS.name)} WHERE model = ?", [model.hash])
    rows = rows.join(expected.select("eval_id"), on="eval_id", how="semi")
    return rows.drop("run_id")


def summary_rows(
    store: Store,
    run: Run,
    model: EvalModel,
    benchmarks: list[Benchmark],
    rows: pl.DataFrame,
    samples: int,
) -> pl.DataFrame:
    lineage = {
        "model": model.hash,
        "model_name": model.label,
        "model_config": model.config_json(),
        "checkpoint": model.checkpoint,
        "weights": model.weights,
        "train_run": json.dumps(model.train_run) if model.train_run else None,
        "export": _json(export_run(store, model.export, run.at)),
        "snapshot_id": run.at,
    }
    records = []
    for bench in benchmarks:
        figures = summary_figures(rows.filter(pl.col("benchmark") == bench.name), samples)
        if figures is None:
            continue
        figures["pass_at_k"] = json.dumps(figures["pass_at_k"])
        records.append(
            {
                **lineage,
                **figures,
                "benchmark": bench.name,
                "benchmark_source": bench.source,
                "benchmark_hash": bench.identity,
            }
        )
    return pl.DataFrame(records, schema=EVAL_SUMMARIES.schema(EVAL_SUMMARIES.row_columns))


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def latest_summaries(store: Store, at: int | str | None = None) -> pl.DataFrame:
    """The current summary of every (model, benchmark): the latest eval run's row."""
    if not store.has_table(EVAL_SUMMARIES.name, at):
        raise InputError(f"no eval results in store {store.name}: run `teachable eval` first")
    return store.latest(EVAL_SUMMARIES, at=at).sort("benchmark", "model_name")


def eval_summary(store: Store, config: EvalConfig, at: int | str | None = None) -> pl.DataFrame:
    """The summaries of the model, benchmarks and N that `config` names (after `run_eval`),
    even when a later eval of the same model used another N."""
    if not store.has_table(EVAL_SUMMARIES.name, at):
        return EVAL_SUMMARIES.empty()
    model = eval_model_of(config)
    return store.latest(
        EVAL_SUMMARIES,
        key=[*(EVAL_SUMMARIES.current or ()), "samples"],
        at=at,
        where="model = ? AND samples = ?",
        params=[model.hash, config.samples],
    ).sort("benchmark")
