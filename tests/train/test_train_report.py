"""metrics.jsonl written by the callback, plotted by `teachable report train`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from train.report import group_series, plot_run, read_metrics, series

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _write_grpo_like_log(run: Path) -> None:
    from transformers import TrainerState, TrainingArguments

    from train.metrics import MetricsJSONL

    callback = MetricsJSONL(run, "grpo")
    state = TrainerState()
    args = TrainingArguments(output_dir=str(run), report_to="none")
    callback.on_train_begin(args, state, None)
    for step in range(1, 4):
        state.global_step, state.epoch = step, step / 3
        logs = {
            "loss": 1.0 / step,
            "learning_rate": 1e-6,
            "reward": -1.0 + step / 10,
            "rewards/accuracy_reward/mean": -0.5,
            "rewards/accuracy_reward/std": 0.1,
            "completions/mean_length": 20.0 + step,
            "kl": float("nan"),
            "note": "strings are dropped",
        }
        callback.on_log(args, state, None, logs=logs)


def test_callback_writes_numeric_metrics_per_step(tmp_path: Path):
    _write_grpo_like_log(tmp_path)
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert rows[0]["kind"] == "grpo" and rows[2]["loss"] == 1.0 / 3
    assert rows[0]["kl"] is None and "note" not in rows[0]
    assert all(r["step_time_s"] >= 0 for r in rows)
    groups = group_series(series(rows))
    assert groups["loss"] == ["loss"]
    assert groups["reward"] == ["reward", "rewards/accuracy_reward/mean"]
    assert groups["completion length (tokens)"] == ["completions/mean_length"]


def test_plot_run_writes_a_png(tmp_path: Path):
    _write_grpo_like_log(tmp_path)
    path = plot_run(tmp_path)
    assert path == tmp_path / "report.png"
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_report_train_command(tmp_path: Path):
    from curate.cli.main import app

    _write_grpo_like_log(tmp_path / "run")
    out = tmp_path / "plot.png"
    result = CliRunner().invoke(app, ["report", "train", str(tmp_path / "run"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == PNG_MAGIC
    missing = CliRunner().invoke(app, ["report", "train", str(tmp_path)])
    assert missing.exit_code == 1 and "metrics.jsonl" in missing.output


def test_metrics_file_is_appended_on_resume(tmp_path: Path):
    _write_grpo_like_log(tmp_path)
    _write_grpo_like_log(tmp_path)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["kind"] == "grpo" for line in lines)
