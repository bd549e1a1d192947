"""The table catalog: every stage table's spec, one module per owner, below every package.

A spec (store.schema.TableSpec) is the only place a table's columns, key, current-version
partition, id and text columns are written; readers import it from here, whatever package
writes the table. Item tables (seeds, questions, traces) are the ones that hits, verdicts and
reviews point at by (`item_table`, `item_id`).
"""

from store.errors import InputError
from store.schema import RUNS, TAGS, VERSIONS, TableSpec
from store.tables.evaluation import EVAL_SUMMARIES, EVALS
from store.tables.mixtures import EXPORTS, MIXTURE_ITEMS, MIXTURES
from store.tables.quality import CONTAMINATION, NEAR_DUPS, VERDICTS
from store.tables.review import REVIEW_PULLS, REVIEW_REJECTS, REVIEW_TASKS, REVIEWS
from store.tables.seeds import REJECTS, SEED_SOURCES, SEEDS
from store.tables.teachability import (
    ATTEMPTS,
    BANDS,
    DIFFICULTY,
    PROXY_ANSWERS,
    QUESTIONS,
    SELECTIONS,
)
from store.tables.traces import THINK_CLOSE, THINK_OPEN, TRACES

ITEM_TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (SEEDS, QUESTIONS, TRACES)}
# prompt tables: what a trace answers (traces.item_table)
PROMPT_TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (SEEDS, QUESTIONS)}

__all__ = [
    "ATTEMPTS",
    "BANDS",
    "CONTAMINATION",
    "DIFFICULTY",
    "EVALS",
    "EVAL_SUMMARIES",
    "EXPORTS",
    "ITEM_TABLES",
    "MIXTURES",
    "MIXTURE_ITEMS",
    "NEAR_DUPS",
    "PROMPT_TABLES",
    "PROXY_ANSWERS",
    "QUESTIONS",
    "REJECTS",
    "REVIEWS",
    "REVIEW_PULLS",
    "REVIEW_REJECTS",
    "REVIEW_TASKS",
    "RUNS",
    "SEEDS",
    "SEED_SOURCES",
    "SELECTIONS",
    "TAGS",
    "THINK_CLOSE",
    "THINK_OPEN",
    "TRACES",
    "VERDICTS",
    "VERSIONS",
    "item_spec",
]


def item_spec(name: str) -> TableSpec:
    """The spec of item table `name` (seeds, questions, traces), or a clear error."""
    if name not in ITEM_TABLES:
        raise InputError(f"'{name}' is not an item table (item tables: {', '.join(ITEM_TABLES)})")
    return ITEM_TABLES[name]
