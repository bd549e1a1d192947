"""Teachability with the real embedded models (SmolLM2-135M, Gemma 3 270M) on synthetic seeds.

Measured here: SmolLM2 in chat form copies a number ~50% of the time whatever its length (it
talks around it) and fails sums outright; few-shot ("Question: ...\\nAnswer: ...", the completion
style used for base models) it copies numbers of any length most of the time, but reverses one
digit 80% of the time, two 20% and three or more almost never: `reverse_digits` is the family
whose pass rate falls with its level. One llama.cpp thread: on a loaded 2-core machine two
threads run several times slower than one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl
import pytest

from curate.synthetic.generate import SynthConfig, run_synth
from curate.teachability.difficulty import DifficultyConfig, run_difficulty
from curate.teachability.rewrite import RewriteConfig, run_rewrite
from store import Store
from synth.backends.base import Backend, Completion, SampleTask, Sink
from synth.backends.llamacpp import LlamaCppBackend
from synth.cache import RequestCache
from synth.models import ModelConfig

pytestmark = pytest.mark.slow

SMOLLM2 = ModelConfig(n_threads=1)
K = 4


def _config(**overrides: object) -> DifficultyConfig:
    fields: dict[str, object] = {
        "weak": [SMOLLM2],
        "samples": K,
        "prompt_style": "completion",
        "shots": 3,
        "max_tokens": 8,
        # too_hard below 0.3 of K=4 (0 or 1 right): 0 of 3 already decides it, so clear-cut
        # seeds stop early even on a set this small, where the fitted prior stays cautious
        "teachable_min": 0.3,
        "step": 1,
    }
    return DifficultyConfig(**{**fields, **overrides})


@pytest.fixture(scope="module")
def echo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """25 reverse_digits seeds (5 per level): adaptive first, then fixed K on the same cache."""
    store = Store.open(tmp_path_factory.mktemp("teach") / "store", lock_timeout_s=2)
    run_synth(store, SynthConfig(count=25, families=["reverse_digits"]))
    run_difficulty(store, _config(adaptive=True))
    run_difficulty(store, _config(adaptive=False))
    yield store
    store.close()


def _runs(store: Store) -> dict[bool, dict[str, int]]:
    runs = store.table("runs").filter(pl.col("stage") == "difficulty").sort("started_at")
    counts = [json.loads(c) for c in runs["counts"]]
    return {True: counts[0], False: counts[1]}


def _rows(store: Store, adaptive: bool) -> pl.DataFrame:
    run_id = store.table("runs").filter(pl.col("stage") == "difficulty").sort("started_at")
    wanted = run_id["run_id"][0 if adaptive else 1]
    levels = store.table("seeds").select("seed_id", "level")
    return store.table("difficulty").filter(pl.col("run_id") == wanted).join(levels, on="seed_id")


def test_smollm2_pass_rate_falls_with_level(echo_store: Store) -> None:
    rows = _rows(echo_store, adaptive=False)
    by_level = rows.group_by("level").agg(pl.col("pass_rate").mean()).sort("level")
    rates = by_level["pass_rate"].to_list()
    assert len(rates) == 5
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False)), rates
    assert rates[0] - rates[-1] >= 0.5, rates
    hard = rows.group_by("level").agg((pl.col("band") == "too_hard").mean()).sort("level")
    assert hard["band"][0] == 0.0 and hard["band"][-1] == 1.0, hard


def test_adaptive_fewer_calls_and_same_bands(echo_store: Store) -> None:
    counts = _runs(echo_store)
    assert counts[True]["calls"] < counts[False]["calls"] == K * 25
    # the fixed run re-used every adaptive draw from the request cache
    assert counts[False]["sent"] == K * 25 - counts[True]["calls"]
    adaptive, fixed = _rows(echo_store, True), _rows(echo_store, False)
    joined = adaptive.join(fixed, on="seed_id", suffix="_fixed")
    assert joined.height == 25
    assert (joined["band"] == joined["band_fixed"]).mean() >= 0.95


class _Crash(LlamaCppBackend):
    """The real backend, made to die after `after` finished samples (fault injection)."""

    def __init__(self, config: ModelConfig, after: int) -> None:
        super().__init__(config)
        self.after, self.done = after, 0

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        for task in tasks:
            if self.done == self.after:
                raise RuntimeError("injected crash")
            if not sink.admit(task):
                return
            sink.emit(task, self.complete(task))
            self.done += 1


def test_resume_after_crash_repeats_no_finished_call(store: Store) -> None:
    run_synth(store, SynthConfig(count=4, families=["reverse_digits"], levels=[1]))
    config = _config(adaptive=False, samples=3)
    with pytest.raises(RuntimeError, match="injected crash"):
        run_difficulty(store, config, backends=[_Crash(SMOLLM2, after=5)])
    assert not store.has_table("difficulty")  # nothing half-written
    with RequestCache.for_store(store) as cache:
        assert cache.stats().get("ok") == 5
    counts = run_difficulty(store, config)
    assert (counts["sent"], counts["cached"]) == (12 - 5, 5)
    assert store.table("attempts").height == 12
    again = run_difficulty(store, config)
    assert again.get("sent", 0) == 0 and again["done_before"] == 4


class _Rewriter(Backend):
    """Injects well-formed rewrites whose stated answer is wrong (fault injection)."""

    name = "planted-rewriter"

    def __init__(self) -> None:
        super().__init__(ModelConfig(model="planted-rewriter"))

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        for task in tasks:
            if not sink.admit(task):
                return
            problem = (task.messages or [{}])[-1]["content"].split("Problem:")[-1]
            number = re.findall(r"\d{4}", problem)[-1]
            text = f"Question: What is {number} + 0?\nAnswer: 5"
            sink.emit(task, Completion(text=text, finish_reason="stop"))


def test_rewrite_rejects_answer_the_solver_does_not_reproduce(store: Store, tmp_path: Path) -> None:
    from curate.seeds.ingest import IngestConfig, run_ingest

    path = tmp_path / "open.jsonl"
    records = [
        {"problem": "Prove that 4721 is odd, and explain why."},
        {"problem": "Discuss the number 3388 and show that it is even."},
        {"problem": "What is 6 times 7?", "answer": "42"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records))
    run_ingest(store, IngestConfig(source=str(path), name="open"))
    config = RewriteConfig(solver=SMOLLM2, solve_samples=2, solver_max_tokens=48)
    counts = run_rewrite(store, config, rewriter=_Rewriter())
    questions = store.table("questions").sort("question")
    assert counts["seeds"] == 3 and counts["passthrough"] == 1
    rejected = questions.filter(pl.col("status") == "rejected")
    assert rejected.height == 2
    assert all("solver answered" in r for r in rejected["reason"])
    passthrough = questions.filter(pl.col("status") == "passthrough")
    assert passthrough["answer"].to_list() == ["42"]


def test_gemma_fewshot_completion_on_a_base_model(store: Store) -> None:
    run_synth(store, SynthConfig(count=6, families=["echo_number"], levels=[1, 2]))
    gemma = ModelConfig(model="gemma3-270m", n_threads=1)
    counts = run_difficulty(store, _config(weak=[gemma], samples=2, adaptive=False))
    attempts = store.table("attempts")
    assert counts["calls"] == 12 and attempts["model_name"].unique().to_list() == ["gemma3-270m"]
    assert attempts["correct"].mean() >= 0.8  # DESIGN.md: 100% for 2-16 digits
