"""`review push`: chosen items -> tasks in a Label Studio project, each recorded in `review_tasks`.

    teachable review push --project gsm-audit --selection edge --sample 200 --seed 0
    run_review_push(store, PushConfig(project="gsm-audit", mixture="math-mix", sample=100))

The project is reused by title or created with the shipped labeling config. Tasks go in with
`projects.import_tasks` (thousands per request) and their ids come back with the response, so
every (project, item) -> task is recorded in the push's store run. An item already recorded for
the project is not pushed again. When the project's task count disagrees with the record (a
push that created tasks but failed before its store commit, tasks deleted in the UI), the
record is first reconciled from the project's own export: the server is the truth then.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

import polars as pl
from pydantic import Field, model_validator

from quality.review import items as pick
from quality.review.connection import Connection, connect, download_export, ensure_project
from quality.review.context import gather
from quality.review.declare import PUSH_STAGE
from store import Run, StageConfig, Store
from store.tables import REVIEW_TASKS

if TYPE_CHECKING:
    from label_studio_sdk.core.request_options import RequestOptions

Band = Literal["too_easy", "teachable", "too_hard"]


class PushConfig(StageConfig):
    project: str = Field(min_length=1)
    """Label Studio project title: reused when it exists, else created with the shipped config."""
    selection: str | None = None
    """Push the seeds of this named selection."""
    mixture: str | None = None
    """Push the traces of this mixture's latest build (name, or a build's run id)."""
    filter: str | None = None
    """Push the traces with a current verdict of this filter ('*': any filter)."""
    filter_passed: bool = False
    """With `filter`: the traces that passed it (to audit the filter) instead of those it failed."""
    contaminated: bool = False
    """Push the items with contamination hits, each beside its benchmark item."""
    band: list[Band] | None = None
    """Only items whose seed has one of these bands (alone: every seed in them)."""
    sample: int | None = Field(default=None, ge=1)
    """Push a random sample of this many of the chosen items."""
    seed: int = 0
    """Sampling seed (the same seed and snapshot give the same sample)."""
    annotators: int = Field(default=1, ge=1)
    """Annotations wanted per task in a new project (2 or more to measure agreement)."""
    registry: str | None = None
    """Benchmark registry for benchmark items' text (default $TEACHABLE_BENCHMARKS or shipped)."""
    batch_size: int = Field(default=5000, ge=1)
    """Tasks per import request."""
    timeout_s: float = Field(default=600, gt=0)
    """Seconds to wait for one import request (or the project's export, when reconciling)."""

    @model_validator(mode="after")
    def _one_source(self) -> PushConfig:
        sources = [n for n in ("selection", "mixture", "filter") if getattr(self, n)]
        sources += ["contaminated"] if self.contaminated else []
        if len(sources) > 1:
            raise ValueError(
                f"choose items from one of selection, mixture, filter, contaminated; got {sources}"
            )
        if not sources and not self.band:
            raise ValueError("choose items: selection, mixture, filter, contaminated or band")
        return self


def choose(store: Store, at: int, config: PushConfig) -> pl.DataFrame:
    """The items to push, linked to their prompt and seed, sampled and in push order."""
    if config.selection:
        ids = pick.from_selection(store, at, config.selection)
    elif config.mixture:
        ids = pick.from_mixture(store, at, config.mixture)
    elif config.filter:
        ids = pick.from_filter(store, at, config.filter, config.filter_passed)
    elif config.contaminated:
        ids = pick.from_contamination(store, at)
    else:
        ids = pick.every_seed(store, at)
    linked = pick.links(store, at, ids)
    if config.band:
        linked = pick.in_bands(store, at, linked, list(config.band))
    return pick.sample(linked, config.sample, config.seed)


def _recorded(run: Run, server: str, project_id: int) -> pl.DataFrame:
    schema = pl.Schema(REVIEW_TASKS.schema(["item_table", "item_id", "task_id"]))
    if not run.has_table(REVIEW_TASKS.name):
        return pl.DataFrame(schema=schema)
    return run.sql(
        f"SELECT item_table, item_id, task_id FROM {run.ref(REVIEW_TASKS.name)} "
        "WHERE server = ? AND project_id = ?",
        [server, project_id],
    ).cast(schema)


def on_server(conn: Connection, project_id: int, timeout_s: float = 600) -> pl.DataFrame:
    """(item_table, item_id, task_id) of every task teachable pushed into the project, from the
    project's export (all tasks, annotated or not)."""
    raw = download_export(conn, project_id, timeout_s).raw
    rows = []
    for task in json.loads(raw):
        meta = task.get("meta") or {}
        if isinstance(meta, dict) and meta.get("source") == "teachable":
            rows.append((str(meta.get("item_table")), str(meta.get("item_id")), int(task["id"])))
    frame = pl.DataFrame(rows, schema=["item_table", "item_id", "task_id"], orient="row")
    return frame.cast({"task_id": pl.Int64})


def _task_count(conn: Connection, project_id: int) -> int:
    with conn.errors(f"reading project {project_id}"):
        return int(conn.client.projects.get(project_id).task_number or 0)


def _import(conn: Connection, project_id: int, tasks: list[dict], config: PushConfig) -> list[int]:
    ids: list[int] = []
    # never retried by the SDK: a retried import that had landed would duplicate its tasks
    # (a push that fails part way is reconciled from the server on the next push instead)
    once: RequestOptions = {"timeout": config.timeout_s, "max_retries": 0}
    for start in range(0, len(tasks), config.batch_size):
        batch = tasks[start : start + config.batch_size]
        with conn.errors(f"importing {len(batch)} tasks into project {project_id}"):
            answer = conn.client.projects.import_tasks(
                id=project_id,
                request=batch,  # type: ignore[arg-type]  # the SDK sends task dicts as they are
                return_task_ids=True,
                request_options=once,
            )
        # an extra field of the reply (the SDK's model does not declare it)
        got = list((answer.model_extra or {}).get("task_ids") or [])
        if len(got) != len(batch):
            raise RuntimeError(f"Label Studio created {len(got)} tasks for {len(batch)} sent")
        ids += got
    return ids


def run_review_push(store: Store, config: PushConfig) -> dict[str, int]:
    conn = connect()
    with store.run(PUSH_STAGE, config) as run:
        chosen = choose(store, run.at, config)
        project_id, created = ensure_project(conn, config.project)
        if created and config.annotators > 1:
            with conn.errors(f"setting overlap on project {project_id}"):
                conn.client.projects.update(project_id, maximum_annotations=config.annotators)
        known = _recorded(run, conn.url, project_id)
        reconciled = pl.DataFrame(schema=known.schema)
        if _task_count(conn, project_id) != known.height:
            reconciled = on_server(conn, project_id, config.timeout_s)
            known = reconciled
        todo = chosen.join(known, on=["item_table", "item_id"], how="anti")
        tasks = gather(store, run.at, todo, config.registry)
        task_ids = _import(conn, project_id, tasks, config)
        record = pl.concat(
            [
                reconciled,
                todo.select("item_table", "item_id").with_columns(
                    task_id=pl.Series(task_ids, dtype=pl.Int64)
                ),
            ]
        ).with_columns(
            server=pl.lit(conn.url),
            project=pl.lit(config.project),
            project_id=pl.lit(project_id, pl.Int64),
            snapshot_id=pl.lit(run.at, pl.Int64),
        )
        run.insert(REVIEW_TASKS, record)
        return run.count_all(
            {
                "chosen": chosen.height,
                "already_pushed": chosen.height - todo.height,
                "pushed": len(task_ids),
                "reconciled": reconciled.height,
                "project_id": project_id,
            }
        )
