"""Teachability stages without a real model: planted votes, the adaptive rule, select, report.

A planted backend is used only where a test must fix what a model answers (votes for the
majority rule, a known pass rate per seed); everything else (store, cache, checker) is real.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.seeds.ingest import IngestConfig, run_ingest
from curate.synthetic.generate import SynthConfig, run_synth
from curate.teachability import adaptive
from curate.teachability.difficulty import DifficultyConfig, run_difficulty
from curate.teachability.proxy import ProxyConfig, run_proxy
from curate.teachability.report import difficulty_report
from curate.teachability.select import SelectConfig, read_selection, run_select
from store import Store
from synth.backends.base import Backend, Completion, SampleTask, Sink
from synth.models import ModelConfig


class Planted(Backend):
    """Answers from a function of the task; counts what it was asked."""

    name = "planted"

    def __init__(self, answer: Callable[[SampleTask], str], model: str = "planted") -> None:
        super().__init__(ModelConfig(model=model))
        self.answer = answer
        self.calls = 0

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        for task in tasks:
            if not sink.admit(task):
                return
            self.calls += 1
            sink.emit(task, Completion(text=self.answer(task), finish_reason="stop"))


def _text(task: SampleTask) -> str:
    return task.messages[-1]["content"] if task.messages else task.prompt or ""


def _ingest(store: Store, tmp_path: Path, name: str, records: list[dict[str, str]]) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    run_ingest(store, IngestConfig(source=str(path), name=name))


VOTES = {
    "clear": ["Answer: 1/2", "It is 0.5", "Answer: 3", "so \\boxed{0.50}"],  # 3 of 4 equivalent
    "tie": ["7", "8", "Answer: 7", "Answer: 8"],
    "low": ["4", "4", "5", "6"],  # 2 of 4 is below min_agreement 0.6
    "none": ["I am not sure."] * 4,  # nothing to extract
}


def test_majority_vote_ties_and_low_agreement(store: Store, tmp_path: Path) -> None:
    records = [{"problem": f"Puzzle {key}: what is the value?"} for key in VOTES]
    records.append({"problem": "What is 2 + 2?", "answer": "4"})
    _ingest(store, tmp_path, "open", records)

    def vote(task: SampleTask) -> str:
        key = re.search(r"Puzzle (\w+)", _text(task))[1]  # type: ignore[index]
        return VOTES[key][task.sampling.seed]

    planted = Planted(vote)
    counts = run_proxy(store, ProxyConfig(samples=4, min_agreement=0.6), backend=planted)
    assert planted.calls == 16  # the reference seed costs no call
    seeds = store.table("seeds").select("seed_id", "problem")
    rows = store.table("proxy_answers").join(seeds, on="seed_id")
    by_key = {
        (re.search(r"Puzzle (\w+)", p)[1] if "Puzzle" in p else "ref"): r  # type: ignore[index]
        for p, r in zip(rows["problem"], rows.iter_rows(named=True), strict=True)
    }
    assert by_key["ref"]["method"] == "reference" and by_key["ref"]["answer"] == "4"
    clear = by_key["clear"]
    assert (clear["method"], clear["answer"], clear["votes"]) == ("majority", "1/2", 3)
    assert clear["agreement"] == pytest.approx(0.75)
    assert (by_key["tie"]["method"], by_key["tie"]["reason"]) == ("unverifiable", "tie")
    assert by_key["tie"]["answer"] is None
    assert (by_key["low"]["method"], by_key["low"]["reason"]) == ("unverifiable", "low_agreement")
    assert by_key["none"]["reason"] == "no_answer"
    assert counts["majority"] == 1 and counts["unverifiable"] == 3

    again = Planted(vote)
    assert run_proxy(store, ProxyConfig(samples=4, min_agreement=0.6), backend=again)["voted"] == 0
    assert again.calls == 0  # finished seeds are skipped, nothing is re-sent


def _simulate(p: np.ndarray, k: int = 8) -> tuple[float, float]:
    """Adaptive rounds over pre-drawn Bernoulli samples: (calls / fixed-K calls, agreement)."""
    draws = np.random.default_rng(0).random((len(p), k)) < p[:, None]
    bounds = adaptive.Bounds(0.1, 0.8)
    fixed = adaptive.band_of(draws.sum(1), np.full(len(p), k), bounds)
    state = adaptive.Sequential(len(p), k, bounds, 0.95, 2)
    for target in state.rounds(2, 2):
        pairs = [
            (i, j) for i in np.flatnonzero(~state.done) for j in range(state.samples[i], target)
        ]
        items = np.array([i for i, _ in pairs], dtype=np.int64)
        state.add(items, np.array([draws[i, j] for i, j in pairs], dtype=bool))
    assert state.done.all()
    return state.samples.sum() / (k * len(p)), float((state.band == fixed).mean())


@pytest.mark.parametrize(
    ("population", "max_ratio"),
    [
        ("mixed", 0.7),  # zeros, ones, some between (0.40-0.61 by draw)
        ("mostly_zero", 0.35),  # GSM8K for a 135M model
        ("wide", 0.999),  # a quarter spread over the teachable range: little to save
    ],
)
def test_adaptive_rule_on_simulated_pass_rates(population: str, max_ratio: float) -> None:
    rng = np.random.default_rng(1)
    p = {
        "mixed": np.concatenate([np.zeros(250), rng.uniform(0.2, 0.7, 50), np.ones(200)]),
        "mostly_zero": np.concatenate([np.zeros(470), np.full(20, 0.05), np.full(10, 0.3)]),
        "wide": np.concatenate(
            [np.zeros(300), rng.uniform(0.2, 0.7, 150), np.ones(100), np.full(50, 0.9)]
        ),
    }[population]
    ratio, agreement = _simulate(p)
    assert ratio <= max_ratio
    assert agreement >= 0.95


def test_schedule_and_certain_curtailment() -> None:
    assert adaptive.schedule(8, 2, 2) == [2, 4, 6, 8]
    assert adaptive.schedule(5, 3, 4) == [3, 5]
    bounds = adaptive.Bounds(0.1, 0.8)
    # 2 of 4 correct: 2/8 .. 6/8 are all teachable whatever comes next
    flat = adaptive.fit_prior(np.zeros(0, dtype=int), np.zeros(0, dtype=int))
    assert adaptive.final_band_probs(4, 2, 8, flat, bounds)[1] == pytest.approx(1.0)
    # 0 of 2 under a flat prior is far from decided; under a population of zeros it is not
    assert max(adaptive.final_band_probs(2, 0, 8, flat, bounds)) < 0.9
    zeros = adaptive.fit_prior(np.full(500, 2), np.zeros(500, dtype=int))
    assert adaptive.final_band_probs(2, 0, 8, zeros, bounds)[2] > 0.95


def _echo_store(store: Store) -> None:
    run_synth(store, SynthConfig(count=30, families=["echo_number"]))


def _echo_answer(rates: dict[int, float]) -> Callable[[SampleTask], str]:
    """Right with a probability set by the number's length, reproducibly per (number, seed)."""

    def answer(task: SampleTask) -> str:
        number = re.findall(r"\d+", _text(task))[-1]
        draw = random.Random(f"{number}/{task.sampling.seed}").random()
        return number if draw < rates[len(number)] else "1"

    return answer


RATES = {2: 1.0, 4: 0.9, 8: 0.5, 16: 0.1, 32: 0.0}


def test_difficulty_adaptive_vs_fixed_with_planted_rates(store: Store) -> None:
    _echo_store(store)
    first = Planted(_echo_answer(RATES))
    counts = run_difficulty(store, DifficultyConfig(samples=8), backends=[first])
    assert counts["calls"] < counts["fixed_k_calls"] == 8 * 30
    assert first.calls == counts["calls"]
    adaptive_rows = store.table("difficulty")
    assert adaptive_rows.height == 30 and adaptive_rows["decided_early"].any()
    assert store.table("attempts").height == counts["calls"]

    # fixed K re-uses the adaptive draws from the request cache: only the rest is sent
    second = Planted(_echo_answer(RATES))
    fixed = run_difficulty(store, DifficultyConfig(samples=8, adaptive=False), backends=[second])
    assert second.calls == 8 * 30 - counts["calls"] == fixed["sent"]
    rows = store.table("difficulty")
    assert rows["setting"].n_unique() == 2
    fixed_rows = rows.filter(pl.col("setting") != adaptive_rows["setting"][0])
    joined = adaptive_rows.join(fixed_rows, on="seed_id")
    assert joined.height == 30 and not fixed_rows["decided_early"].any()
    assert (joined["band"] == joined["band_right"]).mean() >= 0.95


_SECOND_WRITER = """
import sys
import polars as pl
from store import Store, TableSpec
with Store.open(sys.argv[1], lock_timeout_s=1) as store, store.run("second-writer") as run:
    run.insert(TableSpec("marks", {"mark": "VARCHAR"}), pl.DataFrame({"mark": ["between"]}))
"""


def test_difficulty_holds_no_lock_while_its_models_answer(store: Store, tmp_path: Path) -> None:
    """Two weak models: before the second answers, another process must get the writer lock
    (1 s timeout) and commit; the difficulty run, after its first model, holds nothing."""
    _echo_store(store)
    writer = [sys.executable, "-c", _SECOND_WRITER, str(tmp_path / "store")]

    class SecondWriterFirst(Planted):
        def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
            if not self.calls:
                subprocess.run(writer, check=True, timeout=120, capture_output=True)
            super().run(tasks, sink)

    weak = [
        Planted(_echo_answer(RATES), "weak-1"),
        SecondWriterFirst(_echo_answer(RATES), "weak-2"),
    ]
    config = DifficultyConfig(samples=2, adaptive=False)
    counts = run_difficulty(store, config, backends=weak)
    runs = store.runs().sort("output_snapshot")
    assert runs["stage"].to_list()[-2:] == ["second-writer", "difficulty"]
    assert store.table("marks")["mark"].to_list() == ["between"]
    rows = store.table("difficulty")
    assert rows.height == 60 and rows["model_name"].n_unique() == 2
    assert counts["difficulty_inserted"] == 60 and counts["attempts_inserted"] == 120


def test_select_is_fixed_to_its_snapshot_and_report(store: Store, tmp_path: Path) -> None:
    _echo_store(store)
    run_difficulty(
        store, DifficultyConfig(samples=4, adaptive=False), backends=[Planted(_echo_answer(RATES))]
    )
    bands = store.table("difficulty").group_by("band").len()
    counts = run_select(store, SelectConfig(name="edge", bands=["teachable"]))
    assert counts["selected"] == dict(bands.iter_rows()).get("teachable", 0) > 0
    capped = run_select(
        store, SelectConfig(name="few", bands=["teachable", "too_hard"], max_per_source=3)
    )
    assert capped["selected"] == 3
    edge = read_selection(store, "edge")
    assert set(edge["seed_id"]) <= set(store.table("difficulty")["seed_id"])

    run_synth(store, SynthConfig(count=10, seed=7, families=["compare"]))
    assert read_selection(store, "edge")["seed_id"].sort().equals(edge["seed_id"].sort())
    table, png = difficulty_report(store, tmp_path / "difficulty.png")
    assert png.stat().st_size > 10_000
    assert table["seeds"].sum() == 30 and table["calls"].sum() == 4 * 30


def test_cli_select_and_report(store: Store, tmp_path: Path) -> None:
    _echo_store(store)
    run_difficulty(
        store, DifficultyConfig(samples=2, adaptive=False), backends=[Planted(_echo_answer(RATES))]
    )
    root = str(store.root)
    store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["select", "--name", "hard", "--band", "too_hard", "-s", root])
    assert result.exit_code == 0, result.output
    out = tmp_path / "d.png"
    result = runner.invoke(app, ["report", "difficulty", "--out", str(out), "-s", root])
    assert result.exit_code == 0, result.output
    assert out.exists() and "difficulty per weak model" in result.output
    bad = runner.invoke(app, ["select", "--name", "x", "--band", "medium", "-s", root])
    assert bad.exit_code != 0 and "bands must be" in bad.output
