"""Teacher traces: sample reasoning from a teacher for each seed or question, check each answer.

Usage:
    run_traces(store, TracesConfig(teacher="models/o3-mini.yaml", samples=4, where="level >= 3"))
    teachable traces --teacher models/o3-mini.yaml --samples 4 --where "level >= 3"

The run is journaled before the first request and reads its items at one pinned snapshot
(recorded as `at` in the run's config); the writer lock is taken only for the final write, and
every finished sample is already durable in the request cache, so a crash loses nothing and the
re-run only sends what never finished.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Literal

import polars as pl
import xxhash
from pydantic import Field

from store import Run, StageConfig, Store
from store.sql import SqlCondition, bind_condition, user_sql_errors
from store.tables import PROMPT_TABLES, SELECTIONS, TRACES
from synth.backends import ChatRequest, Completion
from synth.declare import TRACES_STAGE
from synth.generate import Budget, GenerateResult
from synth.models import ModelConfig, resolve_model_config
from synth.prompts import reasoning_system_prompt
from synth.session import FailurePolicy, model_session
from synth.sizes import MAX_SAMPLES, check_size

log = logging.getLogger("teachable.synth.traces")
CODE = "code"  # answer_type of code items: checked by running their tests (quality.programs)


class TracesConfig(StageConfig, FailurePolicy):
    teacher: str | ModelConfig | None = None
    """Model config YAML, an embedded model name, an inline config, or None for SmolLM2."""
    samples: int = Field(default=1, ge=1, le=MAX_SAMPLES)
    """Samples per item."""
    source: Literal["seeds", "questions"] = "seeds"
    """Item table: seeds | questions."""
    selection: str | None = None
    """Only items of this named selection (`teachable select --name ...`)."""
    where: SqlCondition = None
    """SQL condition on the item table, e.g. "domain = 'math' AND level >= 3"."""
    limit: int | None = Field(default=None, ge=1)
    """Only the first N items (by id)."""
    system_prompt_file: str | None = None
    """File replacing the built-in reasoning system prompt."""
    temperature: float | None = None
    """Override the teacher's temperature."""
    max_new: int | None = Field(default=None, ge=1)
    """Max completion length per sample (overrides the teacher's max_tokens)."""
    seed: int | None = None
    """Base seed (sample i uses seed + i)."""
    budget_total: int | None = Field(default=None, ge=1)
    """Stop sending once this many prompt+completion tokens would be spent by this run."""
    budget_usd: float | None = Field(default=None, gt=0)
    """Stop sending once this many US dollars would be spent by this run."""
    untested_code: bool = False
    """Also trace code items without tests (their traces stay unchecked, `correct` NULL);
    by default they are left out and counted (`code_untested`): `rewrite` writes their tests."""


def teacher_config(config: TracesConfig) -> ModelConfig:
    return resolve_model_config(
        config.teacher, temperature=config.temperature, max_tokens=config.max_new, seed=config.seed
    )


def run_traces(store: Store, config: TracesConfig) -> dict[str, int]:
    teacher = teacher_config(config)
    system = reasoning_system_prompt(config.system_prompt_file).text.strip()
    teacher_hash = xxhash.xxh3_64_hexdigest(f"{teacher.config_hash()}\n{system}".encode())
    with store.run(TRACES_STAGE, config) as run:
        items = _load_items(store, config, run.at)
        untested = (pl.col("answer_type") == CODE) & pl.col("tests").is_null()
        skipped = 0 if config.untested_code else items.filter(untested).height
        if skipped:
            items = items.filter(~untested.fill_null(False))
        check_size("--samples", config.samples, items.height)
        todo = _without_finished(run, items, teacher_hash, config.samples)
        requests = [
            ChatRequest(
                messages=[{"role": "system", "content": system}, {"role": "user", "content": t}],
                n=config.samples,
            )
            for t in todo["text"]
        ]
        result = GenerateResult([])
        if requests:
            budget = Budget(max_tokens=config.budget_total, max_cost_usd=config.budget_usd)
            share = config.max_failed_share
            with model_session(store, teacher, max_failed_share=share) as models:
                result = models.generate(requests, budget=budget, label="traces")
        rows = _rows(todo, result, config.source, teacher, teacher_hash, store)
        run.insert(TRACES, rows)
        counts = run.count_all(
            {
                "items": items.height,
                "code_untested": skipped,
                "items_done_before": items.height - todo.height,
                "correct": int(rows["correct"].sum() or 0) if rows.height else 0,
                **{k: result.stats.get(k, 0) for k in ("sent", "cached", "failed", "retries")},
                "not_sent": result.stats.get("not_sent", 0),
                "tokens_spent": result.stats.get("tokens", 0),
                "stopped_by_budget": int(result.stopped is not None),
            }
        )
    _warn(result)
    return counts


def _warn(result: GenerateResult) -> None:
    if result.stopped:
        log.warning("traces: %s", result.stopped)
    errors = Counter(c.error for row in result.completions for c in row if c and c.error)
    if errors:
        reason, n = errors.most_common(1)[0]
        log.warning(
            "traces: %d samples failed (most often, %d times: %s); they are recorded in the "
            "request cache and retried on the next run",
            sum(errors.values()), n, reason,
        )  # fmt: skip


def _load_items(store: Store, config: TracesConfig, at: int) -> pl.DataFrame:
    spec = PROMPT_TABLES[config.source]
    id_col, text_col = spec.id_column, spec.text_columns[0]
    ref = store.ref(spec, at=at)
    columns = store.sql(f"SELECT * FROM {ref} LIMIT 0").columns
    conditions: list[str] = [bind_condition(store, ref, config.where)] if config.where else []
    params: list[object] = []
    if "status" in columns:  # questions: skip rewrites that failed their independent solve
        conditions.append("status <> 'rejected'")
    if config.selection:
        # the current version of a named selection (written by `teachable select`)
        current = store.latest_sql(
            SELECTIONS,
            at=at,
            source=f"(SELECT * FROM {store.ref(SELECTIONS, at=at)} WHERE name = ?)",
        )
        conditions.append(f"seed_id IN (SELECT seed_id FROM {current})")
        params.append(config.selection)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    limit = f"LIMIT {int(config.limit)}" if config.limit else ""
    atype = '"answer_type"' if "answer_type" in columns else "NULL"
    tests = '"tests"' if "tests" in columns else "NULL::VARCHAR"  # code seeds' tests
    with user_sql_errors(config.where):
        return store.sql(
            f'SELECT "{id_col}" AS item_id, "{text_col}" AS text, "answer" AS answer, '
            f"{atype} AS answer_type, {tests} AS tests FROM {ref} {where} "
            f"ORDER BY item_id {limit}",
            params,
        )


def trace_id(item_id: str, teacher_hash: str, sample_index: int) -> str:
    return xxhash.xxh3_128_hexdigest(f"{item_id}|{teacher_hash}|{sample_index}".encode())


def _without_finished(
    run: Run, items: pl.DataFrame, teacher_hash: str, samples: int
) -> pl.DataFrame:
    """Items that still miss at least one of their samples in `traces`."""
    expected = pl.DataFrame(
        [
            (item, trace_id(item, teacher_hash, i))
            for item in items["item_id"]
            for i in range(samples)
        ],
        schema={"item_id": pl.String, "trace_id": pl.String},
        orient="row",
    )
    missing = run.todo(expected, TRACES, on="trace_id", where={"teacher": teacher_hash})
    return items.filter(pl.col("item_id").is_in(missing["item_id"].implode()))


def _rows(
    items: pl.DataFrame,
    result: GenerateResult,
    source: str,
    teacher: ModelConfig,
    teacher_hash: str,
    store: Store,
) -> pl.DataFrame:
    records = [
        _record(item, index, c, teacher_hash)
        for item, samples in zip(items.iter_rows(named=True), result.completions, strict=False)
        for index, c in enumerate(samples)
        if c is not None and c.ok
    ]
    schema = TRACES.schema(TRACES.row_columns)
    if not records:
        return pl.DataFrame(schema=schema)
    _check([r for r in records if r["answer_type"] != CODE])
    _check_programs([r for r in records if r["answer_type"] == CODE], store)
    return (
        pl.DataFrame(records, infer_schema_length=None)
        .with_columns(
            item_table=pl.lit(source),
            teacher=pl.lit(teacher_hash),
            teacher_model=pl.lit(teacher.model),
        )
        .select([pl.col(n).cast(t) for n, t in schema.items()])
    )


def _check(records: list[dict[str, Any]]) -> None:
    """Set `correct` on every record whose item has an answer, in one checker batch."""
    from quality.answers import check_batch

    graded = [r for r in records if r["answer"] is not None]
    verdicts = check_batch(
        [r["extracted_answer"] for r in graded],
        [r["answer"] for r in graded],
        [r["answer_type"] for r in graded],
    )
    for record, verdict in zip(graded, verdicts, strict=True):
        record["correct"] = verdict


def _check_programs(records: list[dict[str, Any]], store: Store) -> None:
    """Set `correct` on every code trace: its final program passes all the item's tests, run in
    the sandbox (a sandbox error leaves it unchecked, never wrong)."""
    graded = [r for r in records if r["tests"] is not None]
    if not graded:
        return
    from quality.execute import Verdict  # noqa: I001
    from quality.programs import ProgramChecker

    with ProgramChecker.for_store(store) as checker:
        judged = checker.check([r["answer_text"] for r in graded], [r["tests"] for r in graded])
    for record, judgement in zip(graded, judged, strict=True):
        if judgement is None:
            record["correct"] = False  # no program in the reply
        elif judgement.verdict != Verdict.sandbox_error:
            record["correct"] = judgement.verdict == Verdict.accepted


def _record(item: dict[str, Any], index: int, c: Completion, teacher_hash: str) -> dict[str, Any]:
    from quality.answers import extract_answer
    from quality.programs import extracted_programs

    code = item["answer_type"] == CODE
    extracted = (
        extracted_programs([c.text])[0] if code else extract_answer(c.text, item["answer_type"])
    )
    return {
        "trace_id": trace_id(item["item_id"], teacher_hash, index),
        "item_id": item["item_id"],
        "answer": item["answer"],
        "answer_type": item["answer_type"],
        "sample_index": index,
        "reasoning": c.reasoning,
        "answer_text": c.text,
        "extracted_answer": extracted,
        "tests": item["tests"],
        "correct": None,
        "finish_reason": c.finish_reason,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "reasoning_tokens": c.reasoning_tokens,
        "latency_s": c.latency_s,
        "cost_usd": c.cost_usd,
    }
