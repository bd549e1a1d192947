"""`eval` with real models: the embedded llama.cpp SmolLM2, and a checkpoint that
`teachable train sft` writes in this test (SmolLM2, two steps) through the transformers
backend, with its lineage back to the train run and the export."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.evaluation.stage import EvalConfig, eval_model_of, run_eval
from store import Store
from synth.models import ModelConfig

# the tiny export the train tests use (tests/train/export_fixture.py), reused as is
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from export_fixture import write_export  # noqa: E402

pytestmark = pytest.mark.slow


def test_embedded_llamacpp_model_and_a_rerun_that_sends_nothing(store: Store) -> None:
    config = EvalConfig(
        model=ModelConfig(n_threads=1),
        benchmarks=["gsm8k_test"],
        samples=2,
        limit=2,
        max_tokens=24,
    )
    counts = run_eval(store, config)
    assert counts["sent"] == 4 and counts["evals_inserted"] == 4
    rows = store.table("evals")
    assert (rows["completion_tokens"] > 0).all() and (rows["latency_s"] > 0).all()
    assert set(rows["finish_reason"]) <= {"stop", "length"}
    again = run_eval(store, config)
    assert again.get("sent", 0) == 0 and again["samples_done_before"] == 4
    (summary,) = store.table("eval_summaries").iter_rows(named=True)
    assert summary["model_name"] == "smollm2-135m-instruct" and summary["items"] == 2
    assert summary["benchmark_source"].endswith("benchmarks.yaml#gsm8k_test")


@pytest.fixture(scope="module")
def sft_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, export folder) of a two-step SFT of SmolLM2 through the CLI."""
    import torch

    from train.model_loading import trainable_folder

    torch.set_num_threads(1)
    export = write_export(tmp_path_factory.mktemp("export"))
    run = tmp_path_factory.mktemp("sft") / "run"
    args = ["train", "sft", "cpu_smoke_sft", "--dataset", str(export), "--output_dir", str(run)]
    args += [
        "--model",
        str(trainable_folder("smollm2")),
        "--max_steps",
        "2",
        "--save_strategy",
        "no",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return run, export


def test_a_trained_checkpoint_through_the_transformers_backend(
    store: Store, sft_checkpoint: tuple[Path, Path], tmp_path: Path
) -> None:
    run, export = sft_checkpoint
    val = pl.read_parquet(export / "val.parquet")
    bench = tmp_path / "sums.jsonl"
    val.select(
        pl.col("id"),
        pl.col("prompt").list.last().struct.field("content").alias("problem"),
        "answer",
    ).write_ndjson(bench)
    config = EvalConfig(
        model=str(run), benchmarks=[str(bench)], samples=2, limit=2, max_tokens=16, label="sft"
    )
    counts = run_eval(store, config)
    assert counts["sent"] == 4 and counts["evals_inserted"] == 4
    (summary,) = store.table("eval_summaries").iter_rows(named=True)
    assert summary["checkpoint"] == str(run.resolve()) and summary["model_name"] == "sft"
    assert json.loads(summary["model_config"])["backend"] == "transformers"
    train_run = json.loads(summary["train_run"])
    assert train_run["dataset"] == str(export) and train_run["max_steps"] == 2
    assert train_run["method"] == "sft" and train_run["global_step"] == 2
    assert json.loads(summary["export"])["folder"] == str(export.resolve())
    assert summary["weights"] and summary["benchmark"] == "sums"
    assert run_eval(store, config).get("sent", 0) == 0  # answered from the store, no model load
    weights = run / "model.safetensors"
    before = eval_model_of(config).hash
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1))
    assert eval_model_of(config).hash != before  # retrained in place: scored afresh


def test_every_model_stage_takes_a_folder_a_gguf_and_a_yaml(
    sft_checkpoint: tuple[Path, Path], tmp_path: Path
) -> None:
    """One resolver behind every model-calling stage: `difficulty --weak <checkpoint folder>`,
    `traces --teacher <.gguf>` and `eval --model <yaml>` each run through the CLI."""
    from synth.models import resolve_gguf

    run, _ = sft_checkpoint
    root = str(tmp_path / "store")
    config = tmp_path / "smollm2.yaml"
    config.write_text("model: smollm2\nn_threads: 1\n")
    commands = [
        ["seeds", "synth", "--count", "2", "--family", "echo_number", "--level", "1"],
        ["difficulty", "--weak", str(run), "--samples", "1", "--max-tokens", "4"],
        ["traces", "--teacher", str(resolve_gguf(ModelConfig())), "--max-tokens", "8"],
        ["eval", "--model", str(config), "-b", "gsm8k_test", "--samples", "1", "--limit", "1"]
        + ["--max-tokens", "8"],
    ]
    for args in commands:
        result = CliRunner().invoke(app, [*args, "--store", root])
        assert result.exit_code == 0, (args, result.output)
    with Store.open(root) as store:
        difficulty = store.table("difficulty")
        assert difficulty.height == 2 and difficulty["model_name"][0] == str(run.resolve())
        assert set(store.table("traces")["teacher_model"]) == {"SmolLM2-135M-Instruct.Q4_1"}
        assert store.table("evals")["model_name"].to_list() == ["smollm2-135m-instruct"]
