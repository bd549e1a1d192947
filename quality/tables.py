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

# Human review verdicts pulled from Label Studio, one row per annotation version (the review
# stage writes it; mixtures read resolved verdicts from it).
REVIEWS = TableSpec(
    "reviews",
    {
        "review_id": "VARCHAR",  # hash of (project, task id, annotation id, updated_at)
        "item_id": "VARCHAR",
        "item_table": "VARCHAR",  # seeds | questions | traces
        "project": "VARCHAR",  # Label Studio project title
        "task_id": "BIGINT",
        "annotation_id": "BIGINT",
        "annotator": "VARCHAR",  # the annotating user's email or id
        "verdict": "VARCHAR",  # accept | reject | fix
        "corrected_answer": "VARCHAR",  # with verdict fix
        "tags": "VARCHAR",  # JSON list of issue tags
        "rating": "INTEGER",  # 1-5
        "note": "VARCHAR",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "run_id": "VARCHAR",
    },
)
