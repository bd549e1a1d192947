"""Tables of human review in Label Studio (quality.review)."""

from store.schema import TableSpec

# Human review in Label Studio (quality/review). `review push` records every task it creates
# in `review_tasks`; `review pull` appends one `reviews` row per annotation version (an edited
# annotation adds a row with its new updated_at; the latest per annotation is current) and sets
# unusable annotations aside in `review_rejects`. Mixtures read resolved verdicts
# (quality.review.resolve) from `reviews`.
REVIEWS = TableSpec(
    "reviews",
    {
        "review_id": "VARCHAR",  # xxh3-128 of (server, project id, annotation id, updated_at)
        "item_id": "VARCHAR",
        "item_table": "VARCHAR",  # seeds | questions | traces
        "server": "VARCHAR",  # Label Studio base URL (never a credential)
        "project": "VARCHAR",  # Label Studio project title
        "project_id": "BIGINT",
        "task_id": "BIGINT",
        "annotation_id": "BIGINT",
        "annotator": "VARCHAR",  # the annotating user's email (else "user:<id>")
        "verdict": "VARCHAR",  # accept | reject | fix
        "corrected_answer": "VARCHAR",  # with verdict fix
        "tags": "VARCHAR",  # JSON list of issue tags
        "rating": "INTEGER",  # 1-5, NULL when not given
        "note": "VARCHAR",
        "snapshot_id": "BIGINT",  # the store snapshot the item was pushed from
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "run_id": "VARCHAR",
    },
    key=("review_id",),
)

REVIEW_TASKS = TableSpec(
    "review_tasks",
    {
        "server": "VARCHAR",  # Label Studio base URL (never a credential)
        "project": "VARCHAR",
        "project_id": "BIGINT",
        "task_id": "BIGINT",
        "item_id": "VARCHAR",
        "item_table": "VARCHAR",
        "snapshot_id": "BIGINT",  # the snapshot the task's content was read at
        "run_id": "VARCHAR",
    },
    key=("server", "project_id", "task_id"),
)

REVIEW_PULLS = TableSpec(
    "review_pulls",
    {
        "server": "VARCHAR",
        "project": "VARCHAR",
        "project_id": "BIGINT",
        "exported_at": "TIMESTAMP",  # server time the export began: the next pull's watermark
        "since": "TIMESTAMP",  # only tasks updated after this were exported; NULL: all
        "tasks": "BIGINT",  # annotated tasks in the export
        "run_id": "VARCHAR",
    },
)

REVIEW_REJECTS = TableSpec(
    "review_rejects",
    {
        "server": "VARCHAR",
        "project": "VARCHAR",
        "project_id": "BIGINT",
        "task_id": "BIGINT",
        "annotation_id": "BIGINT",  # NULL when the task itself is unusable
        "updated_at": "TIMESTAMP",
        "field": "VARCHAR",  # what was wrong: verdict, corrected_answer, rating, meta, ...
        "reason": "VARCHAR",
        "raw": "VARCHAR",  # the offending value or record, truncated
        "run_id": "VARCHAR",
    },
    key=("project_id", "task_id", "annotation_id", "updated_at", "field"),
)
