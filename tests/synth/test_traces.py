"""The traces stage end to end on loopback: exact columns, answer checking, idempotent re-runs,
questions and selections as sources, a replaceable system prompt."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from loopback import LoopbackServer

from store import Store
from store.tables import QUESTIONS, SEEDS, SELECTIONS, TRACES
from synth.session import SamplesFailedError
from synth.traces import TracesConfig, run_traces

COLUMNS = [
    "trace_id", "item_id", "item_table", "teacher", "teacher_model", "sample_index", "reasoning",
    "answer_text", "extracted_answer", "correct", "finish_reason", "prompt_tokens",
    "completion_tokens", "reasoning_tokens", "latency_s", "cost_usd", "run_id",
]  # fmt: skip


def _seed_store(store: Store) -> None:
    rows = pl.DataFrame(
        {
            "seed_id": ["s1", "s2", "s3"],
            "problem": ["2+2?", "3+3?", "Name a colour."],
            "answer": ["4", "6", None],
            "answer_type": ["number", "number", None],
            "source": ["t", "t", "t"],
        }
    )
    with store.run("test.seeds") as run:
        run.insert(SEEDS, rows.with_columns(run_id=pl.lit(run.id)))


def test_traces_rows_checks_and_reruns(
    store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    _seed_store(store)
    teacher = loopback_config(loopback, price_input_per_mtok=1.0, price_output_per_mtok=2.0)
    counts = run_traces(store, TracesConfig(teacher=teacher, samples=2))
    assert counts["traces_inserted"] == 6 and counts["sent"] == 6
    traces = store.table("traces").sort("item_id", "sample_index")
    assert traces.columns == COLUMNS == list(TRACES.columns)
    assert traces["correct"].to_list() == [True, True, False, False, None, None]
    assert traces["extracted_answer"].unique().to_list() == ["4"]
    assert traces["reasoning"][0] == "2 and 2 make 4." and traces["item_table"][0] == "seeds"
    assert (traces["cost_usd"] > 0).all() and traces["teacher"].n_unique() == 1
    assert traces["trace_id"].n_unique() == 6

    again = run_traces(store, TracesConfig(teacher=teacher, samples=2))
    assert again["traces_inserted"] == 0 and again["items_done_before"] == 3
    assert again["sent"] == again["cached"] == 0
    more = run_traces(store, TracesConfig(teacher=teacher, samples=3))
    assert more["traces_inserted"] == 3 and more["sent"] == 3 and more["cached"] == 6
    assert set(loopback.served.values()) == {1}


def test_system_prompt_file_and_where(
    store: Store, loopback: LoopbackServer, loopback_config, tmp_path: Path
) -> None:
    _seed_store(store)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("SYSTEM-PROMPT-MARKER: think, then answer.")
    teacher = loopback_config(loopback)
    config = TracesConfig(teacher=teacher, where="answer = '4'", system_prompt_file=str(prompt))
    assert run_traces(store, config)["traces_inserted"] == 1
    default = run_traces(store, TracesConfig(teacher=teacher, where="answer = '4'"))
    assert default["traces_inserted"] == 1  # another prompt is another teacher
    assert store.table("traces")["teacher"].n_unique() == 2
    run = store.runs().filter(stage="traces").row(0, named=True)
    assert json.loads(run["config"])["at"] is not None


def test_questions_and_selection_sources(
    store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    _seed_store(store)
    questions = pl.DataFrame(
        {
            "question_id": ["q1", "q2", "q3"],
            "seed_id": ["s1", "s2", "s3"],
            "question": ["What is 2+2?", "What is 3+3?", "Colour?"],
            "answer": ["4", "6", "blue"],
            "answer_type": ["number", "number", "text"],
            "status": ["kept", "passthrough", "rejected"],
        }
    )
    with store.run("test.questions") as run:
        run.insert(QUESTIONS, questions.with_columns(run_id=pl.lit(run.id)))
        selection = pl.DataFrame({"name": ["edge"], "seed_id": ["s2"], "snapshot_id": [0]})
        run.insert(SELECTIONS, selection.with_columns(run_id=pl.lit(run.id)))
    teacher = loopback_config(loopback)
    counts = run_traces(store, TracesConfig(teacher=teacher, source="questions"))
    assert counts["items"] == 2  # the rejected rewrite is skipped
    traces = store.table("traces").sort("item_id")
    assert traces["item_id"].to_list() == ["q1", "q2"]
    assert traces["item_table"].unique().to_list() == ["questions"]
    assert traces["correct"].to_list() == [True, False]
    picked = run_traces(store, TracesConfig(teacher=teacher, selection="edge", samples=1))
    assert picked["items"] == 1
    assert store.sql("SELECT item_id FROM traces WHERE item_table = 'seeds'")["item_id"][0] == "s2"


def test_failed_samples_are_reported_and_retried(
    store: Store, loopback: LoopbackServer, loopback_config, caplog
) -> None:
    rows = pl.DataFrame({"seed_id": ["ok", "bad"], "problem": ["2+2?", "FAULT:400,400"],
                         "answer": ["4", "4"], "source": ["t", "t"]})  # fmt: skip
    with store.run("test.seeds") as run:
        run.insert(SEEDS, rows.with_columns(run_id=pl.lit(run.id)))
    teacher = loopback_config(loopback)
    counts = run_traces(store, TracesConfig(teacher=teacher))
    assert counts["failed"] == 1 and counts["traces_inserted"] == 1
    assert "1 samples failed" in caplog.text and "HTTP 400" in caplog.text
    # the re-run sends only the failed sample; it fails again, so the whole run failed
    with pytest.raises(SamplesFailedError, match="1 of 1 samples failed"):
        run_traces(store, TracesConfig(teacher=teacher))
    assert store.runs()["status"].to_list()[-1] == "failed"
    counts = run_traces(store, TracesConfig(teacher=teacher))  # 3rd attempt: ok
    assert counts["failed"] == 0 and counts["traces_inserted"] == 1
    assert store.table("traces").height == 2
