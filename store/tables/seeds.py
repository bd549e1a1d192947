"""Tables written by seed ingestion."""

from store.schema import TableSpec

SEEDS = TableSpec(
    "seeds",
    {
        "seed_id": "VARCHAR",  # xxh3-128 of the normalized problem text
        "source": "VARCHAR",  # --name of the first source that brought it
        "source_ref": "VARCHAR",  # file:line, row index or dataset row of that first occurrence
        "domain": "VARCHAR",
        "problem": "VARCHAR",
        "answer": "VARCHAR",  # clean final answer (code: the reference program), NULL if none
        "solution": "VARCHAR",  # the raw answer field when an answer was extracted from it
        "answer_type": "VARCHAR",  # number | choice | math | text | code | NULL
        "level": "INTEGER",  # difficulty level when the source states one
        "license": "VARCHAR",
        "run_id": "VARCHAR",
        "tests": "VARCHAR",  # code: the tests (quality.execute.TestSpec JSON), else NULL
    },
    version=2,
    upgrades={2: ["ALTER TABLE {table} ADD COLUMN tests VARCHAR"]},
    key=("seed_id",),
    id_column="seed_id",
    text_columns=("problem",),
)

SEED_SOURCES = TableSpec(
    "seed_sources",
    {"seed_id": "VARCHAR", "source": "VARCHAR", "source_ref": "VARCHAR", "run_id": "VARCHAR"},
    key=("seed_id", "source", "source_ref"),
)

REJECTS = TableSpec(
    "rejects",
    {
        "source": "VARCHAR",
        "location": "VARCHAR",  # file:line (or row)
        "field": "VARCHAR",
        "reason": "VARCHAR",
        "raw": "VARCHAR",  # the offending record, truncated
        "run_id": "VARCHAR",
    },
)
