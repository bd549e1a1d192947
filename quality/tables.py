"""Tables written by the quality stages (decontam, dedup, filter)."""

from store import TableSpec

CONTAMINATION = TableSpec(
    "contamination",
    {
        "item_id": "VARCHAR",
        "item_table": "VARCHAR",  # seeds | questions | traces
        "field": "VARCHAR",  # the item's column that matched (problem, question, reasoning, ...)
        "benchmark": "VARCHAR",
        "benchmark_item_id": "VARCHAR",
        "method": "VARCHAR",  # ngram | minhash | values (see quality.decontam)
        "matched_ngrams": "INTEGER",  # ngram: distinct shared n-grams (or 1 for a short item)
        "jaccard": "DOUBLE",  # minhash: estimated Jaccard of the shingle sets
        "kind": "VARCHAR",  # copy | paraphrase | quote | sibling (quality.hit_kinds); NULL: v1 row
        "coverage": "DOUBLE",  # share of the benchmark item's words aligned with the item
        "evidence": "VARCHAR",  # why, e.g. "values differ: item {nine}, benchmark {ellipse}"
        "run_id": "VARCHAR",
    },
    version=2,
    upgrades={
        2: [
            "ALTER TABLE {table} ADD COLUMN kind VARCHAR",
            "ALTER TABLE {table} ADD COLUMN coverage DOUBLE",
            "ALTER TABLE {table} ADD COLUMN evidence VARCHAR",
        ]
    },
)
# with `kind`: a re-run that classifies an old (v1, kind NULL) hit writes a row of its own; the
# latest run per the key without `kind` is the current verdict (Store.latest_sql)
CONTAMINATION_KEY = [
    "item_table", "item_id", "field", "benchmark", "benchmark_item_id", "method", "kind",
]  # fmt: skip
CONTAMINATION_CURRENT = CONTAMINATION_KEY[:-1]

NEAR_DUPS = TableSpec(
    "near_dups",
    {
        "item_id": "VARCHAR",
        "item_table": "VARCHAR",
        "cluster_id": "VARCHAR",  # = representative_id
        "representative_id": "VARCHAR",
        "is_representative": "BOOLEAN",
        "jaccard": "DOUBLE",  # estimated Jaccard with the representative
        "run_id": "VARCHAR",
    },
)
NEAR_DUPS_KEY = ["item_table", "item_id", "run_id"]  # each run is a full assignment; latest wins

VERDICTS = TableSpec(
    "verdicts",
    {
        "item_id": "VARCHAR",
        "item_table": "VARCHAR",  # traces
        "filter": "VARCHAR",
        "passed": "BOOLEAN",
        "value": "DOUBLE",  # the measured quantity (length, repetition ratio, ...), NULL if none
        "reason": "VARCHAR",  # why it failed; NULL when passed
        "run_id": "VARCHAR",
    },
)
VERDICTS_KEY = ["item_table", "item_id", "filter", "run_id"]

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
)
REVIEWS_KEY = ["review_id"]

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
)
REVIEW_TASKS_KEY = ["server", "project_id", "task_id"]

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
)
REVIEW_REJECTS_KEY = ["project_id", "task_id", "annotation_id", "updated_at", "field"]
