from __future__ import annotations

import json
import random
import re
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from curate.export.stage import ExportConfig, run_export
from curate.mixtures.build import MixBuildConfig, run_mix_build
from curate.seeds.ingest import IngestConfig, run_ingest
from curate.synthetic.families import FAMILIES, LEVELS
from curate.synthetic.generate import SynthConfig, generate, run_synth
from quality.answers import answers_match
from quality.filters import FilterConfig, run_filter
from store import Store
from synth.session import SamplesFailedError
from synth.traces import TracesConfig, run_traces


def _solve(family: str, problem: str) -> int:
    """Independent solvers for the families whose answer can be recomputed from the text."""
    numbers = [int(n) for n in re.findall(r"-?\d+", problem)]
    if family == "modular" and "^" in problem:
        base, exponent, modulus = numbers
        return pow(base, exponent, modulus)
    if family == "modular":
        return numbers[0] % numbers[1]
    if family == "rates":
        return sum(h * s for h, s in zip(numbers[::2], numbers[1::2], strict=True))
    if family == "echo_number":
        return numbers[0]
    if family == "compare":
        return max(numbers)
    raise KeyError(family)


@pytest.mark.parametrize("family", ["modular", "rates", "echo_number", "compare"])
def test_answers_are_exact(family: str) -> None:
    for level in LEVELS:
        for index in range(20):
            problem, answer, _ = FAMILIES[family](random.Random(index), level)
            assert int(answer) == _solve(family, problem), problem


def test_linear_equation_answer_satisfies_the_equation() -> None:
    for level in LEVELS:
        for index in range(20):
            problem, answer, _ = FAMILIES["linear_equation"](random.Random(index), level)
            lhs, rhs = problem.removeprefix("Solve for x: ").rstrip(".").split(" = ")
            x = int(answer)
            value = {"x": x}
            to_py = lambda side: re.sub(r"(\d)x", r"\1*x", side)  # noqa: E731
            assert eval(to_py(lhs), value) == eval(to_py(rhs), value), problem


def test_levels_grow_the_work() -> None:
    rng = random.Random(0)
    chain = [FAMILIES["arithmetic_chain"](rng, lv).problem.count("Then") for lv in LEVELS]
    assert chain == list(LEVELS)
    echo = [len(FAMILIES["echo_number"](rng, lv).answer) for lv in LEVELS]
    assert echo == sorted(echo) and echo[0] < echo[-1]


def test_generation_is_deterministic_and_prefix_stable() -> None:
    small = generate(SynthConfig(count=35, seed=3))
    large = generate(SynthConfig(count=70, seed=3))
    assert small.equals(generate(SynthConfig(count=35, seed=3)))
    assert set(small["problem"]) <= set(large["problem"])
    assert small["problem"].n_unique() == 35
    assert not generate(SynthConfig(count=35, seed=4))["problem"].equals(small["problem"])


def test_synth_stage_writes_seeds_with_levels_and_checkable_answers(store: Store) -> None:
    counts = run_synth(store, SynthConfig(count=70, seed=1))
    assert counts["seeds_inserted"] == 70
    seeds = store.table("seeds")
    assert set(seeds["level"]) == set(LEVELS)
    assert set(seeds["source"]) == {f"synthetic/{f}" for f in FAMILIES}
    assert all(answers_match(a, a) for a in seeds["answer"])
    # the worked solution is kept GSM8K-style and the answer is read from its tail
    for solution, answer in zip(seeds["solution"], seeds["answer"], strict=True):
        steps, _, tail = solution.rpartition("\n#### ")
        assert tail == answer and answer in steps.splitlines()[-1]
    assert run_synth(store, SynthConfig(count=70, seed=1))["seeds_inserted"] == 0


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown families"):
        SynthConfig(families=["nope"])


_ARITHMETIC = re.compile(r"((?:-?\d+ [-+*/] )+-?\d+) = (-?\d+)")  # "5 * 45 = 225", chains too


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_worked_solutions_are_right_step_by_step(family: str) -> None:
    """Every `a op b ... = c` a solution writes holds (exactly), its last step states
    the answer, and the power steps land on the true remainder."""
    for level in LEVELS:
        for index in range(30):
            made = FAMILIES[family](random.Random(f"{family}/{index}"), level)
            assert made.answer in made.steps[-1], made
            for expression, value in _ARITHMETIC.findall(made.solution):
                assert Fraction(eval(expression)) == int(value), made.solution
            if family == "modular" and "^" in made.problem:
                assert made.steps[-2].endswith(f": {made.answer}."), made.solution


def test_solutions_do_not_change_the_problems() -> None:
    """Worked solutions came after the problems: these texts are the ones stores already hold."""
    assert FAMILIES["compare"](random.Random(0), 3).problem == (
        "Which number is larger, 964 or 971? Answer with the number."
    )
    assert generate(SynthConfig(count=16, seed=0))["problem"].to_list()[:2] == [
        "Dev has 33 shells. Then Dev gives away 2. How many shells does Dev have now?",
        "Ava has 15 shells. Then Ava gives away 9. Then Ava gets 3 more. How many shells does "
        "Ava have now?",
    ]


def test_synthetic_teacher_writes_verified_traces_from_worked_solutions(
    store: Store, tmp_path: Path
) -> None:
    """Through the normal traces stage: every synthetic and GSM8K seed gets a verified trace
    whose reasoning is its worked solution; a seed without a solution fails with the reason
    (nothing invented); a re-run sends nothing; the export renders <think> reasoning."""
    run_synth(store, SynthConfig(count=24, seed=2))
    records = [
        {"question": "Ali has 3 pens and buys 4 more. How many pens?",
         "answer": "3 + 4 = <<3+4=7>>7 pens.\n#### 7"},
        {"question": "What is 6 times 7?", "answer": "42"},  # an answer but no worked solution
    ]  # fmt: skip
    path = tmp_path / "gsm.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    run_ingest(store, IngestConfig(source=str(path), name="gsm"))
    counts = run_traces(store, TracesConfig(teacher="synthetic", samples=2))
    assert counts["failed"] == 2 and counts["correct"] == 2 * 25  # the plain answer, twice
    traces = store.table("traces").join(
        store.table("seeds").select("seed_id", "solution"), left_on="item_id", right_on="seed_id"
    )
    assert traces.height == 50 and traces["correct"].all()
    assert traces["teacher_model"].unique().to_list() == ["synthetic"]
    for row in traces.iter_rows(named=True):
        first_step = row["solution"].splitlines()[0].replace("<<3+4=7>>", "")
        assert first_step in row["reasoning"] and "<<" not in row["reasoning"]
        assert row["answer_text"].endswith(f"\\boxed{{{row['extracted_answer']}}}.")
    two = traces.filter(pl.col("item_id") == traces["item_id"][0]).sort("sample_index")
    assert two["reasoning"][0] != two["reasoning"][1]  # samples open differently
    with pytest.raises(SamplesFailedError):  # only the unsolvable seed is left: all fail
        run_traces(store, TracesConfig(teacher="synthetic", samples=2))
    only = TracesConfig(teacher="synthetic", samples=2, where="solution IS NOT NULL")
    assert run_traces(store, only)["sent"] == 0

    run_filter(store, FilterConfig())
    assert store.table("verdicts")["passed"].all()
    recipe = {"name": "mix", "size": 50, "parts": [{"name": "all", "weight": 1}]}
    assert run_mix_build(store, MixBuildConfig(recipe=recipe))["part_all"] == 25
    run_export(store, ExportConfig(mixture="mix", out=str(tmp_path / "out"), val_fraction=0))
    rows = pl.read_parquet(tmp_path / "out" / "train.parquet")
    assistant = [m[-1]["content"] for m in rows["messages"]]
    assert len(assistant) == 25 and all(
        a.startswith("<think>") and "</think>" in a and "\\boxed{" in a for a in assistant
    )


def test_a_trace_longer_than_max_tokens_is_cut_without_an_answer(store: Store) -> None:
    run_synth(store, SynthConfig(count=3, families=["echo_number"], levels=[5]))
    run_traces(store, TracesConfig(teacher="synthetic", max_new=8))
    traces = store.table("traces")
    assert set(traces["finish_reason"]) == {"length"} and not traces["correct"].any()
