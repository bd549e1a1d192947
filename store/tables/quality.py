"""Tables written by the quality stages (decontam, dedup, filter)."""

from store.schema import TableSpec

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
        "kind": "VARCHAR",  # copy | paraphrase | quote | sibling (quality.decontam.kinds); NULL: v1
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
    # with `kind`: a re-run that classifies an old (v1, kind NULL) hit writes a row of its own;
    # the latest run per the key without `kind` is the hit's current kind
    key=("item_table", "item_id", "field", "benchmark", "benchmark_item_id", "method", "kind"),
    current=("item_table", "item_id", "field", "benchmark", "benchmark_item_id", "method"),
)

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
    # each run is a full assignment of one item table (written with `replaces`): latest wins
    key=("item_table", "item_id", "run_id"),
    current=("item_table",),
)

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
    key=("item_table", "item_id", "filter", "run_id"),
    current=("item_table", "item_id", "filter"),
)
