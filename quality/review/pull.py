"""`review pull`: a project's annotations -> `reviews`, in one store run.

    teachable review pull --project gsm-audit
    run_review_pull(store, PullConfig(project="gsm-audit"))

Annotations come through one export snapshot of the project's annotated tasks (the bulk path),
not by paging through tasks. A row's id hashes (server, project, annotation, updated_at), so a
re-pull adds only annotations that are new or were edited since (an edit adds the new version;
the latest per annotation is current); rows already pulled are never touched, and a pull that
fails leaves the store as it was.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from pydantic import Field

from quality.review.annotations import Item, parse_export
from quality.review.connection import (
    Connection,
    ReviewServerError,
    connect,
    download_export,
    find_project,
)
from quality.tables import REVIEW_REJECTS, REVIEW_REJECTS_KEY, REVIEW_TASKS, REVIEWS
from store import Run, StageConfig, Store


class PullConfig(StageConfig):
    project: str = Field(min_length=1)
    """Label Studio project title to pull annotations from."""
    timeout_s: float = Field(default=600, gt=0)
    """Seconds to wait for Label Studio to build the export snapshot."""


def _recorded(run: Run, server: str, project_id: int) -> dict[int, Item]:
    if not run.has_table(REVIEW_TASKS.name):
        return {}
    rows = run.sql(
        f"SELECT task_id, item_table, item_id, snapshot_id FROM {run.ref(REVIEW_TASKS.name)} "
        "WHERE server = ? AND project_id = ?",
        [server, project_id],
    )
    return {int(t): (tab, i, s) for t, tab, i, s in rows.iter_rows()}


def _frame(rows: list[dict], columns: dict[str, str]) -> pl.DataFrame:
    types = {
        "VARCHAR": pl.String,
        "BIGINT": pl.Int64,
        "INTEGER": pl.Int32,
        "TIMESTAMP": pl.Datetime("us"),
    }
    schema = {c: types[t] for c, t in columns.items() if c != "run_id"}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def run_review_pull(store: Store, config: PullConfig) -> dict[str, int]:
    conn = connect()
    with store.run("review.pull", config) as run:
        project_id = find_project(conn, config.project)
        if project_id is None:
            raise ReviewServerError(
                f"no project titled '{config.project}' on {conn.url} (deleted or renamed?); the "
                "reviews already pulled from it stay in the store"
            )
        tasks = _export(conn, project_id, config.timeout_s)
        parsed = parse_export(
            tasks, _recorded(run, conn.url, project_id), conn.url, config.project, project_id
        )
        reviews = _frame(parsed.rows, REVIEWS.columns)
        new = run.todo(reviews, REVIEWS, on="review_id")
        run.insert(REVIEWS, new, unique_on=["review_id"])
        rejects = _frame(parsed.rejects, REVIEW_REJECTS.columns)
        run.insert(REVIEW_REJECTS, rejects, unique_on=REVIEW_REJECTS_KEY)
        return run.count_all(
            {
                "tasks": len(tasks),
                "annotations": len(parsed.rows) + len(parsed.rejects) + parsed.skipped,
                "new_reviews": new.height,
                "rejected": len(parsed.rejects),
                "skipped": parsed.skipped,
                "meta_repaired": parsed.repaired,
            }
        )


def _export(conn: Connection, project_id: int, timeout_s: float) -> list[dict[str, Any]]:
    """The project's annotated tasks, annotations with their annotator's email."""
    raw = download_export(
        conn,
        project_id,
        timeout_s,
        task_filter_options={"only_with_annotations": True},
        annotation_filter_options={"usual": True, "skipped": True},
        serialization_options={"annotations__completed_by": {"only_id": False}},
    )
    try:
        tasks = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReviewServerError(f"the export of project {project_id} is not JSON: {exc}") from None
    if not isinstance(tasks, list):
        raise ReviewServerError(f"the export of project {project_id} is not a task list")
    return tasks
