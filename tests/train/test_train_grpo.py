"""GRPO on CPU with the real SmolLM2-135M: two steps, 4 generations of at most 16 tokens,
plain transformers generation, the three Phi-4-reasoning-plus rewards logged per step."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from train.report import read_metrics

pytestmark = pytest.mark.slow

REWARD_KEYS = [f"rewards/{name}_reward/mean" for name in ("accuracy", "format", "repetition")]


def test_two_grpo_steps_log_reward_parts(tmp_path: Path, export_dir: Path, model_dir: Path):
    from transformers import AutoTokenizer

    from curate.cli.main import app

    run = tmp_path / "grpo"
    args = ["train", "grpo", "cpu_smoke_grpo", "--dataset", str(export_dir)]
    args += ["--model", str(model_dir), "--output_dir", str(run)]
    args += ["--max_steps", "2", "--num_generations", "4", "--max_completion_length", "16"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    rows = [r for r in read_metrics(run) if "reward" in r]
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        assert all(key in row for key in REWARD_KEYS), sorted(row)
        assert row["completions/max_length"] <= 16
        # accuracy is in [-1, 1], format in {-1, -0.5, 0} averaged, repetition in [-1, 0]
        assert -1.0 <= row[REWARD_KEYS[0]] <= 1.0
        assert -1.0 <= row[REWARD_KEYS[1]] <= 0.0
        assert -1.0 <= row[REWARD_KEYS[2]] <= 0.0
        weighted = row[REWARD_KEYS[0]] + row[REWARD_KEYS[1]] + 0.25 * row[REWARD_KEYS[2]]
        assert row["reward"] == pytest.approx(weighted, abs=1e-4)
    assert not (run / "init").exists()  # beta 0, no vLLM: no reference copy needed
    tokenizer = AutoTokenizer.from_pretrained(run)
    assert len(tokenizer.tokenize("<think>")) == 1


def test_reference_model_matches_the_grown_vocabulary(
    tmp_path: Path, export_dir: Path, model_dir: Path
):
    """With a KL term TRL loads the reference model from the policy's path, so a policy whose
    tokenizer gained the think tokens must come from a saved copy of the same shape."""
    from train.config_io import load_config
    from train.grpo import build_grpo_trainer
    from train.grpo_config import GRPORunConfig

    cfg = load_config(
        GRPORunConfig,
        "cpu_smoke_grpo",
        dataset=str(export_dir),
        model=str(model_dir),
        output_dir=str(tmp_path / "kl"),
        beta=0.001,
    )
    trainer = build_grpo_trainer(cfg)
    vocab = len(trainer.processing_class)
    assert trainer.ref_model.get_input_embeddings().weight.shape[0] == vocab
    assert trainer.model.get_input_embeddings().weight.shape[0] == vocab
    assert (tmp_path / "kl" / "init" / "tokenizer.json").exists()
