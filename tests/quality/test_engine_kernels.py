"""decontam and dedup on the ray engine (quality.kernels.ray.map_on_ray) write exactly the rows of
the local engine: same hits with the same kinds, same clusters and representatives.

Shares the session's local 2-CPU Ray cluster with tests/synth/test_engine_generation.py.
"""

from __future__ import annotations

import polars as pl
import pytest

import quality.kernels.ray
from quality.decontam.stage import DecontamConfig, run_decontam
from quality.dedup.stage import DedupConfig, run_dedup
from store import Store
from store.engine import set_engine


@pytest.fixture
def corpus(gsm8k_train_rows, benchmark_rows) -> pl.DataFrame:
    """1,500 GSM8K training problems, a reworded copy of every 50th (near-duplicates), and 20
    MATH-500 problems pasted in verbatim or inside homework boilerplate (contamination)."""
    problems = [r["question"] for r in gsm8k_train_rows[:1500]]
    problems += [p.replace(" is ", " equals ", 1) + " Explain." for p in problems[::50]]
    bench = [r["problem"] for r in benchmark_rows["math500"][:20]]
    problems += bench[:10] + [f"Homework 3, question 2. {b} Show your work." for b in bench[10:]]
    return pl.DataFrame(
        {
            "seed_id": [f"s{i:05d}" for i in range(len(problems))],
            "problem": problems,
            "source": "t",
        }
    )


def _rows(store: Store, table: str, key: list[str]) -> pl.DataFrame:
    return store.table(table).drop("run_id").sort(key)


def test_decontam_and_dedup_on_ray_give_the_local_rows(
    make_store, seeds_spec, corpus, ray_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # several windows of slices (Ray Data executions), so their order is part of the test
    monkeypatch.setattr(quality.kernels.ray, "SLICES_PER_WORKER", 2)
    decontam = DecontamConfig(benchmarks=["math500", "aime24"], batch_size=400)
    dedup = DedupConfig(batch_size=400)
    stores = {}
    try:
        for engine in ("local", "ray"):
            set_engine(engine)
            store = stores[engine] = make_store([(seeds_spec, corpus)])
            run_decontam(store, decontam)
            run_dedup(store, dedup)
    finally:
        set_engine(None)
    key = ["item_id", "field", "benchmark", "benchmark_item_id", "method"]
    hits = _rows(stores["ray"], "contamination", key)
    assert hits.equals(_rows(stores["local"], "contamination", key))
    assert hits["item_id"].n_unique() >= 20 and set(hits["kind"]) >= {"copy"}
    clusters = _rows(stores["ray"], "near_dups", ["item_id"])
    assert clusters.equals(_rows(stores["local"], "near_dups", ["item_id"]))
    assert clusters.filter(~pl.col("is_representative")).height >= 20
