"""Synthetic code seeds through difficulty and traces, every program judged by the real sandbox.

A planted backend fixes what the weak model writes (a right program for the easy seeds, an
empty body or a mutant for the hard ones), so the bands are known in advance; the synthetic
teacher writes verified code traces offline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from planted import Planted as PlantedBackend

from curate.synthetic.code_families import CODE_FAMILIES, TESTS_PER_TASK
from curate.synthetic.generate import SynthConfig, generate, run_synth
from curate.teachability.difficulty import DifficultyConfig, run_difficulty
from store import Store
from store.tables import ATTEMPTS, DIFFICULTY, SEEDS, TRACES
from synth.traces import TracesConfig, run_traces

FAMILIES = list(CODE_FAMILIES)


def Planted(reply: Callable[[str], str]) -> PlantedBackend:  # noqa: N802
    """A coder whose every program is known: right, a mutant or empty."""
    return PlantedBackend(lambda text, _seed: reply(text), model="planted-coder")


def test_code_families_are_deterministic_and_complete() -> None:
    config = SynthConfig(families=FAMILIES, count=30, seed=3)
    frame = generate(config)
    assert frame.equals(generate(config))
    assert frame.height == 30 and frame["problem"].n_unique() == 30
    assert frame["answer_raw"].null_count() == 30  # code seeds have programs, not answers
    for tests in frame["_tests"]:
        spec = json.loads(tests)
        assert spec["judge"] == "call" and len(spec["cases"]) == TESTS_PER_TASK
    with pytest.raises(ValueError, match="unknown families"):
        SynthConfig(families=["list_function", "no_such_family"])


@pytest.fixture
def code_store(store: Store) -> Store:
    """15 code seeds (3 families x 5 levels); each reference was run 3 times at synth."""
    counts = run_synth(store, SynthConfig(families=FAMILIES, count=15, seed=0))
    assert counts["seeds_inserted"] == 15
    return store


def test_synthetic_teacher_writes_verified_code_traces(code_store: Store) -> None:
    counts = run_traces(code_store, TracesConfig(teacher="synthetic", samples=2, seed=0))
    traces = code_store.table(TRACES)
    assert counts["traces_inserted"] == traces.height == 30
    assert traces["correct"].all()
    assert traces["answer_text"].str.contains("```python").all()
    assert traces["reasoning"].str.contains("step").all()
    # the checked program is the one the trace ends in: a broken copy of a seed fails
    seeds = code_store.table(SEEDS)
    assert set(seeds["domain"]) == {"code"} and seeds["tests"].null_count() == 0


def test_difficulty_bands_planted_programs_by_execution(code_store: Store) -> None:
    seeds = code_store.table(SEEDS)
    right = {p: a for p, a in seeds.select("problem", "answer").iter_rows()}
    levels = dict(seeds.select("problem", "level").iter_rows())

    def reply(prompt: str) -> str:
        problem = next(p for p in right if p in prompt)
        if levels[problem] <= 2:  # right: too easy
            return f"Sure.\n```python\n{right[problem]}```"
        if levels[problem] == 3:  # a mutant: returns a constant
            name = right[problem].split("(")[0].removeprefix("def ")
            return f"```python\ndef {name}(*args):\n    return 0\n```"
        return "```python\ndef f():\n    pass\n```"  # empty body, wrong name: too hard

    config = DifficultyConfig(samples=4, adaptive=False)
    counts = run_difficulty(code_store, config, backends=[Planted(reply)])
    assert counts["code_seeds"] == 15
    bands = code_store.table(DIFFICULTY).join(seeds.select("seed_id", "level"), on="seed_id")
    by_level = dict(
        bands.group_by("level").agg(pl.col("band").unique().sort()).sort("level").iter_rows()
    )
    assert by_level == {
        1: ["too_easy"], 2: ["too_easy"], 3: ["too_hard"], 4: ["too_hard"], 5: ["too_hard"]
    }  # fmt: skip
    assert (bands["chance"] == 0).all()
    attempts = code_store.table(ATTEMPTS)
    assert attempts.height == 60 and attempts["extracted_answer"].null_count() == 0
    again = run_difficulty(code_store, config, backends=[Planted(reply)])
    assert again["done_before"] == 15 and again.get("code_seeds", 0) == 0


def test_rewrite_passes_code_seeds_through_with_their_tests(code_store: Store) -> None:
    from curate.teachability.rewrite import RewriteConfig, run_rewrite

    counts = run_rewrite(code_store, RewriteConfig())
    assert (counts["code_seeds"], counts["passthrough"], counts["seeds"]) == (15, 15, 0)
    assert counts.get("tests_proposed", 0) == 0  # no model call: they have tests
    questions = code_store.table("questions").join(
        code_store.table(SEEDS), on="seed_id", suffix="_seed"
    )
    assert (questions["question"] == questions["problem"]).all()
    assert (questions["tests"] == questions["tests_seed"]).all()


def test_review_tasks_show_the_program_its_tests_and_every_verdict(code_store: Store) -> None:
    """A reviewer of a code item sees the reference program, the tests, and the trace's program
    with the verdict of each test, judged in the real sandbox."""
    from quality.execute import Executor, TestSpec
    from quality.programs import describe_judgement
    from quality.review.context import gather
    from quality.review.items import every_seed, links

    run_traces(code_store, TracesConfig(teacher="synthetic", samples=1, seed=0))
    at = code_store.snapshot()
    tasks = gather(code_store, at, links(code_store, at, every_seed(code_store, at)), None)
    assert len(tasks) == 15
    for task in tasks:
        data = task["data"]
        assert data["reference"].startswith("def ") and "6 call-based tests:" in data["reference"]
        assert "== " in data["reference"] and "(+1 more)" in data["reference"]
        assert "```python" in data["final_answer"]
        assert "tests: passed 6/6: 1 accepted, 2 accepted" in data["final_answer"]
        assert "(sandbox: " in data["final_answer"]
    # a wrong program's line names the failing tests
    seed = code_store.table(SEEDS).row(0, named=True)
    spec = TestSpec.from_json(seed["tests"])
    with Executor(workers=1) as executor:
        wrong = executor.judge(f"def {spec.entry_point}(*args):\n    return None", spec)
    line = describe_judgement(wrong)
    assert line.startswith("passed 0/6: 1 wrong_answer") and "6 wrong_answer" in line


def test_traces_from_code_questions_are_checked_and_exported_with_their_tests(
    store: Store, tmp_path: Path
) -> None:
    """rewrite -> traces --source questions -> mixture -> export: a code question's traces are
    judged against the question's tests, and the exported rows carry them."""
    from export_data import write_recipe

    from curate.export.stage import ExportConfig, run_export
    from curate.mixtures.build import MixBuildConfig, run_mix_build
    from curate.teachability.rewrite import RewriteConfig, run_rewrite

    run_synth(store, SynthConfig(families=FAMILIES, count=3, seed=0))
    run_rewrite(store, RewriteConfig())
    counts = run_traces(store, TracesConfig(teacher="synthetic", source="questions", seed=0))
    assert counts["traces_inserted"] == counts["correct"] == 3
    recipe = "name: code_questions\nsize: 10\nseed: 1\nparts:\n  - name: q\n    item_table: questions\n    count: 10\n"  # noqa: E501
    run_mix_build(store, MixBuildConfig(recipe=str(write_recipe(tmp_path / "r.yaml", recipe))))
    out = tmp_path / "export"
    run_export(store, ExportConfig(mixture="code_questions", out=str(out), format="parquet",
                                   val_fraction=0.0))  # fmt: skip
    rows = pl.read_parquet(out / "train.parquet")
    seeds = store.table(SEEDS).select("seed_id", pl.col("tests").alias("seed_tests"))
    joined = rows.join(seeds, on="seed_id")
    assert joined.height == 3 and (joined["tests"] == joined["seed_tests"]).all()
