"""`review pull`: a project's annotations -> `reviews`, in one store run.

    teachable review pull --project gsm-audit
    run_review_pull(store, PullConfig(project="gsm-audit"))

Annotations come through one export snapshot of the project's annotated tasks (the bulk path),
not by paging through tasks. A row's id hashes (server, project, annotation, updated_at), so a
re-pull adds only annotations that are new or were edited since (an edit adds the new version;
the latest per annotation is current); rows already pulled are never touched, and a pull that
fails leaves the store as it was.

Label Studio builds an export at a few milliseconds a task, in Python (a Django REST serializer
per task, with a predictions query and feature-flag checks for each), and none of its export
options or listing endpoints is cheaper per task (bench/review.py --paths measures them all), so
a first pull is a few times faster than paging `tasks.list`, not more. A re-pull asks only for
the tasks updated since the last pull's export began (server time, recorded in `review_pulls`,
less `overlap_s` for annotations still being saved then): a Data Manager view with that
`updated_at` filter, made for the export and deleted after it. Saving an annotation updates its
task's `updated_at`. `full` re-reads every task. An annotation deleted in Label Studio is not
noticed: its last pulled version stays current.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
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
from quality.review.declare import PULL_STAGE
from store import Run, StageConfig, Store, TableSpec
from store.tables import (
    REVIEW_PULLS,
    REVIEW_REJECTS,
    REVIEW_TASKS,
    REVIEWS,
)


class PullConfig(StageConfig):
    project: str = Field(min_length=1)
    """Label Studio project title to pull annotations from."""
    timeout_s: float = Field(default=600, gt=0)
    """Seconds to wait for Label Studio to build the export snapshot."""
    full: bool = False
    """Export every annotated task, not only those updated since the last pull."""
    overlap_s: float = Field(default=300, ge=0)
    """A re-pull also re-reads tasks updated this long before the last pull's export began."""


# every annotation (imported ones count as ground truth, skipped ones are counted), each with its
# annotator's email. The export costs the same with drafts/predictions as ids only and no history
# (measured: bench/review.py --paths): its time goes to serializing each task, whatever the options
EXPORT_OPTIONS: dict[str, Any] = {
    "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True},
    "serialization_options": {"annotations__completed_by": {"only_id": False}},
}


def _since(run: Run, server: str, project_id: int, config: PullConfig) -> datetime | None:
    """Tasks updated after this need exporting (None: all of them, as on a first pull)."""
    if config.full or not run.has_table(REVIEW_PULLS.name):
        return None
    last = run.sql(
        f"SELECT max(exported_at) FROM {run.ref(REVIEW_PULLS.name)} "
        "WHERE server = ? AND project_id = ?",
        [server, project_id],
    )[0, 0]
    return None if last is None else last - timedelta(seconds=config.overlap_s)


def _recorded(run: Run, server: str, project_id: int) -> dict[int, Item]:
    if not run.has_table(REVIEW_TASKS.name):
        return {}
    rows = run.sql(
        f"SELECT task_id, item_table, item_id, snapshot_id FROM {run.ref(REVIEW_TASKS)} "
        "WHERE server = ? AND project_id = ?",
        [server, project_id],
    )
    return {int(t): (tab, i, s) for t, tab, i, s in rows.iter_rows()}


def _frame(rows: list[dict], spec: TableSpec) -> pl.DataFrame:
    schema = spec.schema(spec.row_columns)
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def run_review_pull(store: Store, config: PullConfig) -> dict[str, int]:
    conn = connect()
    with store.run(PULL_STAGE, config) as run:
        project_id = find_project(conn, config.project)
        if project_id is None:
            raise ReviewServerError(
                f"no project titled '{config.project}' on {conn.url} (deleted or renamed?); the "
                "reviews already pulled from it stay in the store"
            )
        since = _since(run, conn.url, project_id, config)
        tasks, started = _export(conn, project_id, config.timeout_s, since)
        parsed = parse_export(
            tasks, _recorded(run, conn.url, project_id), conn.url, config.project, project_id
        )
        reviews = _frame(parsed.rows, REVIEWS)
        new = run.todo(reviews, REVIEWS, on="review_id")
        run.insert(REVIEWS, new)
        rejects = _frame(parsed.rejects, REVIEW_REJECTS)
        run.insert(REVIEW_REJECTS, rejects)
        pulled = {"server": conn.url, "project": config.project, "project_id": project_id,
                  "exported_at": started, "since": since, "tasks": len(tasks)}  # fmt: skip
        run.insert(REVIEW_PULLS, _frame([pulled], REVIEW_PULLS))
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


def _export(
    conn: Connection, project_id: int, timeout_s: float, since: datetime | None
) -> tuple[list[dict[str, Any]], datetime | None]:
    """The project's annotated tasks (updated after `since`), with EXPORT_OPTIONS."""
    tasks: dict[str, Any] = {"only_with_annotations": True}
    if since is None:
        got = download_export(
            conn, project_id, timeout_s, task_filter_options=tasks, **EXPORT_OPTIONS
        )
    else:
        with _updated_after(conn, project_id, since) as view:
            tasks["view"] = view
            got = download_export(
                conn, project_id, timeout_s, task_filter_options=tasks, **EXPORT_OPTIONS
            )
    try:
        rows = json.loads(got.raw)
    except json.JSONDecodeError as exc:
        raise ReviewServerError(f"the export of project {project_id} is not JSON: {exc}") from None
    if not isinstance(rows, list):
        raise ReviewServerError(f"the export of project {project_id} is not a task list")
    return rows, got.started_at


@contextlib.contextmanager
def _updated_after(conn: Connection, project_id: int, since: datetime) -> Iterator[int]:
    """A Data Manager view of the tasks updated after `since`, deleted when done (reviewers
    would see it as a tab). The value needs the milliseconds: without them Label Studio
    ignores the filter and the export holds every task."""
    value = since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    item = {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime",
            "value": value}  # fmt: skip
    data = {"title": "teachable pull", "filters": {"conjunction": "and", "items": [item]}}
    with conn.errors(f"making a view of project {project_id}"):
        view = conn.client.views.create(project=project_id, data=data)
    try:
        yield int(view.id)
    finally:
        with contextlib.suppress(Exception):  # best effort: the export is what matters
            conn.client.views.delete(str(view.id))
