"""A small store for mixture/export tests: seeds, questions, traces and planted quality marks.

Tables are written with test-local TableSpecs that follow the columns other stages write, so
these tests do not depend on those stages' code. `PLANTED` names every id that a mixture must
never contain.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from store import Store, TableSpec
from store.tables import SEEDS

V = "VARCHAR"
QUESTIONS = TableSpec(
    "questions",
    {"question_id": V, "seed_id": V, "question": V, "answer": V, "answer_type": V, "status": V}
    | {"run_id": V},
)
DIFFICULTY = TableSpec(
    "difficulty", {"seed_id": V, "model": V, "pass_rate": "DOUBLE", "band": V, "run_id": V}
)
SELECTIONS = TableSpec(
    "selections", {"name": V, "seed_id": V, "snapshot_id": "BIGINT", "run_id": V}
)
TRACES = TableSpec(
    "traces",
    {
        "trace_id": V,
        "item_id": V,
        "item_table": V,
        "teacher": V,
        "teacher_model": V,
        "sample_index": "INTEGER",
        "reasoning": V,
        "answer_text": V,
        "extracted_answer": V,
        "correct": "BOOLEAN",
        "finish_reason": V,
        "prompt_tokens": "INTEGER",
        "completion_tokens": "INTEGER",
        "reasoning_tokens": "INTEGER",
        "latency_s": "DOUBLE",
        "cost_usd": "DOUBLE",
        "run_id": V,
    },
)
CONTAMINATION = TableSpec(
    "contamination",
    {
        "item_id": V,
        "item_table": V,
        "field": V,
        "benchmark": V,
        "benchmark_item_id": V,
        "method": V,
        "matched_ngrams": "INTEGER",
        "jaccard": "DOUBLE",
        "run_id": V,
    },
)
NEAR_DUPS = TableSpec(
    "near_dups",
    {
        "item_id": V,
        "item_table": V,
        "cluster_id": V,
        "representative_id": V,
        "is_representative": "BOOLEAN",
        "jaccard": "DOUBLE",
        "run_id": V,
    },
)
VERDICTS = TableSpec(
    "verdicts",
    {"item_id": V, "item_table": V, "filter": V, "passed": "BOOLEAN", "value": "DOUBLE"}
    | {"reason": V, "run_id": V},
)
REVIEWS = TableSpec("reviews", {"item_id": V, "verdict": V, "reviewer": V})

N_SEEDS = 24  # s00..s23: gsm8k for even numbers, synthetic for odd
QUESTION_SEEDS = range(16, 24)  # these seeds also have a rewritten question (q16..q23)
PLANTED = {
    "contaminated_seed": "s02",
    "contaminated_question": "q18",
    "contaminated_trace": "t-s04-0",
    "near_dup_seed": "s06",
    "failed_filter_trace": "t-s08-0",
    "review_rejected_trace": "t-s10-1",
    "rejected_question": "q20",
}


def _seeds(run_id: str) -> pl.DataFrame:
    ids = [f"s{i:02d}" for i in range(N_SEEDS)]
    return pl.DataFrame(
        {
            "seed_id": ids,
            "source": ["gsm8k" if i % 2 == 0 else "synthetic" for i in range(N_SEEDS)],
            "source_ref": [f"row:{i}" for i in range(N_SEEDS)],
            "domain": ["math" if i % 3 else "logic" for i in range(N_SEEDS)],
            "problem": [f"Problem {i}: what is {i} + {i}?" for i in range(N_SEEDS)],
            "answer": [str(2 * i) for i in range(N_SEEDS)],
            "solution": [None] * N_SEEDS,
            "answer_type": ["number"] * N_SEEDS,
            "level": [1 + i % 4 for i in range(N_SEEDS)],
            "license": ["test"] * N_SEEDS,
            "run_id": [run_id] * N_SEEDS,
        },
        schema_overrides={"solution": pl.String},
    )


def _traces(run_id: str) -> pl.DataFrame:
    rows = []
    items = [(f"s{i:02d}", "seeds", i) for i in range(N_SEEDS)]
    items += [(f"q{i:02d}", "questions", i) for i in QUESTION_SEEDS]
    for item_id, table, i in items:
        for k in range(3):
            rows.append(
                {
                    "trace_id": f"t-{item_id}-{k}",
                    "item_id": item_id,
                    "item_table": table,
                    "teacher": "teacher-hash",
                    "teacher_model": "tiny-teacher",
                    "sample_index": k,
                    "reasoning": f"I add {i} and {i} (sample {k}). Twice {i} is {2 * i}.",
                    "answer_text": f"The answer is \\boxed{{{2 * i if k < 2 else -1}}}.",
                    "extracted_answer": str(2 * i if k < 2 else -1),
                    "correct": k < 2,
                    "finish_reason": "stop",
                    "prompt_tokens": 20,
                    "completion_tokens": 30,
                    "reasoning_tokens": None,
                    "latency_s": 0.1,
                    "cost_usd": 0.0,
                    "run_id": run_id,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"reasoning_tokens": pl.Int32})


def _questions(run_id: str) -> pl.DataFrame:
    ids = [f"q{i:02d}" for i in QUESTION_SEEDS]
    return pl.DataFrame(
        {
            "question_id": ids,
            "seed_id": [f"s{i:02d}" for i in QUESTION_SEEDS],
            "question": [f"Rewritten {i}: compute {i} + {i}." for i in QUESTION_SEEDS],
            "answer": [str(2 * i) for i in QUESTION_SEEDS],
            "answer_type": ["number"] * len(ids),
            "status": ["rejected" if q == PLANTED["rejected_question"] else "kept" for q in ids],
            "run_id": [run_id] * len(ids),
        }
    )


def _difficulty(run_id: str) -> pl.DataFrame:
    bands = ("teachable", "too_hard", "too_easy", "teachable")
    return pl.DataFrame(
        {
            "seed_id": [f"s{i:02d}" for i in range(N_SEEDS)],
            "model": ["weak"] * N_SEEDS,
            "pass_rate": [0.5] * N_SEEDS,
            "band": [bands[i % 4] for i in range(N_SEEDS)],
            "run_id": [run_id] * N_SEEDS,
        }
    )


def _marks(run_id: str) -> list[tuple[TableSpec, pl.DataFrame]]:
    p = PLANTED
    hits = [
        (p["contaminated_seed"], "seeds", "gsm8k_test"),
        (p["contaminated_question"], "questions", "aime_2024"),
        (p["contaminated_trace"], "traces", "math500"),
    ]
    contamination = pl.DataFrame(
        {
            "item_id": [h[0] for h in hits],
            "item_table": [h[1] for h in hits],
            "field": ["problem"] * 3,
            "benchmark": [h[2] for h in hits],
            "benchmark_item_id": ["b1", "b2", "b3"],
            "method": ["ngram"] * 3,
            "matched_ngrams": [3, 2, 1],
            "jaccard": [0.9, 0.8, 0.7],
            "run_id": [run_id] * 3,
        }
    )
    near_dups = pl.DataFrame(
        {
            "item_id": ["s05", p["near_dup_seed"]],
            "item_table": ["seeds", "seeds"],
            "cluster_id": ["c1", "c1"],
            "representative_id": ["s05", "s05"],
            "is_representative": [True, False],
            "jaccard": [1.0, 0.95],
            "run_id": [run_id] * 2,
        }
    )
    verdicts = pl.DataFrame(
        {
            "item_id": [p["failed_filter_trace"], "t-s08-1"],
            "item_table": ["traces"] * 2,
            "filter": ["repetition"] * 2,
            "passed": [False, True],
            "value": [0.9, 0.1],
            "reason": ["repeats a 4-gram 12 times", None],
            "run_id": [run_id] * 2,
        }
    )
    reviews = pl.DataFrame(
        {
            "item_id": [p["review_rejected_trace"], "t-s10-0"],
            "verdict": ["reject", "accept"],
            "reviewer": ["ann", "ann"],
        }
    )
    return [
        (CONTAMINATION, contamination),
        (NEAR_DUPS, near_dups),
        (VERDICTS, verdicts),
        (REVIEWS, reviews),
    ]


def fill_store(store: Store, marks: bool = True) -> int:
    """Write the fixture tables in one run; returns the snapshot after it."""
    with store.run("test.fixture") as run:
        run.insert(SEEDS, _seeds(run.id))
        run.insert(QUESTIONS, _questions(run.id))
        run.insert(DIFFICULTY, _difficulty(run.id))
        run.insert(TRACES, _traces(run.id))
        selection = pl.DataFrame(
            {"name": "picked", "seed_id": ["s01", "s03", "s05", "s07"], "snapshot_id": 0}
        )
        run.insert(SELECTIONS, selection.with_columns(run_id=pl.lit(run.id)))
        if marks:
            for spec, frame in _marks(run.id):
                run.insert(spec, frame)
    return store.snapshot()


def excluded_traces(traces: pl.DataFrame) -> set[str]:
    """Trace ids (of `traces`: trace_id, item_id, seed_id) that the planted marks exclude."""
    p = PLANTED
    bad_items = {p["contaminated_seed"], p["near_dup_seed"], p["contaminated_question"]}
    bad_items.add(p["rejected_question"])
    bad_traces = {p["contaminated_trace"], p["failed_filter_trace"], p["review_rejected_trace"]}
    hit = traces.filter(
        pl.col("trace_id").is_in(list(bad_traces))
        | pl.col("item_id").is_in(list(bad_items))
        | pl.col("seed_id").is_in([p["contaminated_seed"], p["near_dup_seed"]])
    )
    return set(hit["trace_id"].to_list())


def write_recipe(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# every usable trace (unverified too), so planted items would be picked if not excluded
ALL_RECIPE = """
name: everything
size: 1000
seed: 7
parts:
  - name: questions
    item_table: questions
    count: 100
    traces_per_question: 3
    verified_only: false
  - name: seeds
    weight: 1
    traces_per_question: 3
    verified_only: false
"""
