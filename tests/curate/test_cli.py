from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from quality.answers import answers_match, extract_answer
from store import Store

REPO = Path(__file__).resolve().parents[2]
TEACHABLE = [str(Path(sys.executable).with_name("teachable"))]  # as users run it


def _teachable(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "TEACHABLE_STORE": str(cwd / "teachable-data")}
    return subprocess.run(
        [*TEACHABLE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800
    )


@pytest.mark.slow
def test_quickstart_recipe_runs_from_an_empty_directory(tmp_path: Path) -> None:
    result = _teachable("run", str(REPO / "recipes" / "quickstart.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    with Store.open(tmp_path / "teachable-data", create=False) as store:
        runs = store.runs()
        assert set(runs["status"]) == {"succeeded"}
        assert store.table("seeds").height > 0
        for table in ("difficulty", "selections", "traces", "verdicts", "mixture_items"):
            assert store.table(table).height > 0, table
        # the mixture is on the defaults: only verified traces that carry reasoning
        mixed = store.table("mixture_items").join(store.table("traces"), on="trace_id", how="inner")
        assert mixed.height == store.table("mixture_items").height
        assert mixed["correct"].all() and (mixed["reasoning"].str.len_chars() > 0).all()
    export = tmp_path / "exports" / "quickstart"
    assert (export / "train.parquet").exists() and (export / "README.md").exists()
    rows = pl.concat([pl.read_parquet(export / f"{s}.parquet") for s in ("train", "val")])
    for messages, answer in zip(rows["messages"], rows["answer"], strict=True):
        reply = messages[-1]["content"]
        reasoning, _, final = reply.removeprefix("<think>").partition("</think>")
        assert reply.startswith("<think>") and reasoning.strip() and final.strip()
        assert answers_match(extract_answer(final), answer), reply
    log = _teachable("log", cwd=tmp_path)
    assert log.returncode == 0 and "seeds.synth" in log.stdout


def test_seed_commands_and_clean_errors(tmp_path: Path) -> None:
    assert _teachable("seeds", "synth", "--count", "12", cwd=tmp_path).returncode == 0
    listed = _teachable("seeds", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "synthetic/" in listed.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "fine"}\n{oops\n')
    result = _teachable("seeds", "add", str(bad), "--name", "bad", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad}:2: malformed JSON" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    tagged = _teachable("tag", "first", cwd=tmp_path)
    assert tagged.returncode == 0 and "first" in tagged.stdout


def test_a_bad_recipe_names_file_stage_and_field(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("stages:\n  - stage: seeds.synth\n    config: {count: -3}\n")
    result = _teachable("run", str(recipe), cwd=tmp_path)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "r.yaml: stages[1]: stage 'seeds.synth': count:" in message
    recipe.write_text("stages:\n  - stage: nope\n")
    assert "unknown stage 'nope'" in " ".join(
        _teachable("run", str(recipe), cwd=tmp_path).stderr.split()
    )
    assert (
        not (tmp_path / "teachable-data").exists()
        or Store.open(tmp_path / "teachable-data").snapshot() <= 1
    )


@pytest.mark.slow
def test_code_quickstart_recipe_ends_in_verified_code_traces(tmp_path: Path) -> None:
    """Synthetic code seeds -> SmolLM2 programs judged in the sandbox -> verified code traces
    -> decontam against HumanEval -> mixture -> export, offline."""
    result = _teachable("run", str(REPO / "recipes" / "code_quickstart.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    with Store.open(tmp_path / "teachable-data-code", create=False) as store:
        assert set(store.runs()["status"]) == {"succeeded"}
        assert set(store.table("seeds")["domain"]) == {"code"}
        assert store.table("difficulty").height == 15
        traces = store.table("traces")
        assert traces.height == 30 and traces["correct"].all()
        decontam = store.runs().filter(pl.col("stage") == "decontam")
        assert decontam.height == 1
    export = tmp_path / "exports" / "code_quickstart"
    rows = pl.concat(
        [pl.read_parquet(p) for p in sorted(export.glob("*.parquet"))], how="diagonal_relaxed"
    )
    assert rows.height > 0
    for messages in rows["messages"]:
        reply = messages[-1]["content"]
        assert reply.startswith("<think>") and "```python\ndef " in reply.partition("</think>")[2]
    # every code row carries its tests, and GRPO's accuracy reward passes the exported reply
    assert rows["tests"].null_count() == 0
    from train.rewards import length_aware_accuracy

    replies = [m[-1]["content"] for m in rows["messages"].head(3)]
    answers, kinds, tests = (rows[c].head(3).to_list() for c in ("answer", "answer_type", "tests"))
    rewards = length_aware_accuracy()(replies, answer=answers, answer_type=kinds, tests=tests)
    assert all(r > 0 for r in rewards), rewards
