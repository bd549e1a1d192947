"""Run configs from presets, YAML files and CLI flags; global batch; RoPE base option."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from train.config_io import _resolve_cli, load_config, split_config_flag
from train.grpo_config import GRPORunConfig
from train.sft_config import SFTRunConfig


def test_report_preset_holds_the_papers_hyperparameters():
    cfg = load_config(SFTRunConfig, "phi4_reasoning_sft", bf16=False, output_dir="/tmp/x")
    assert cfg.optim == "adamw_torch"
    assert cfg.learning_rate == pytest.approx(1e-5)
    assert cfg.warmup_steps == 450
    assert cfg.weight_decay == pytest.approx(1e-4)
    assert cfg.global_batch_size == 32
    assert cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps == 32
    assert cfg.max_length == 32768
    assert cfg.rope_theta == pytest.approx(5e5)
    assert cfg.assistant_only_loss is True


def test_yaml_over_preset_and_flags_over_yaml(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"preset": "cpu_smoke_sft", "max_steps": 3, "dataset": "d"}))
    cfg = load_config(
        SFTRunConfig, path, ["--max_steps", "5", "--learning_rate", "2e-5", "--packing", "true"]
    )
    assert cfg.max_steps == 5
    assert cfg.learning_rate == pytest.approx(2e-5)
    assert cfg.packing is True
    assert cfg.dataset == "d"
    assert cfg.max_length == 256  # from cpu_smoke_sft
    assert cfg.weight_decay == pytest.approx(1e-4)  # from phi4_reasoning_sft under it
    assert cfg.bf16 is False


def test_unknown_settings_and_presets_fail(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("lerning_rate: 1.0e-5\n")
    with pytest.raises(ValueError, match="lerning_rate"):
        load_config(SFTRunConfig, path)
    with pytest.raises(FileNotFoundError, match="unknown preset"):
        load_config(SFTRunConfig, "no_such_preset")


def test_global_batch_sets_gradient_accumulation():
    cfg = SFTRunConfig(
        output_dir="/tmp/x", per_device_train_batch_size=4, global_batch_size=32, bf16=False
    )
    assert cfg.gradient_accumulation_steps == 8
    with pytest.raises(ValueError, match="multiple"):
        SFTRunConfig(
            output_dir="/tmp/x", per_device_train_batch_size=3, global_batch_size=32, bf16=False
        )


def test_grpo_defaults_and_reward_lengths_scale_with_completion_length():
    assert GRPORunConfig(output_dir="/tmp/x", bf16=False).num_generations == 8
    cfg = load_config(GRPORunConfig, "cpu_smoke_grpo", output_dir="/tmp/x")
    assert cfg.num_generations == 4 and cfg.max_completion_length == 24
    assert cfg.use_vllm is False
    assert cfg.reward_weights == [1.0, 1.0, 0.25]
    constants = cfg.reward_constants()
    assert constants.max_length == 24
    assert constants.pos_control_length == round(24 * 25_600 / 31_744)
    assert constants.neg_control_length == 3
    full = load_config(GRPORunConfig, "phi4_reasoning_plus_grpo", bf16=False, use_vllm=False)
    assert full.reward_constants().pos_control_length == 25_600
    assert full.reward_constants().neg_control_length == 3_702


def test_cli_helpers():
    assert split_config_flag(["--config", "a.yaml", "--x", "1"]) == ("a.yaml", ["--x", "1"])
    assert split_config_flag(["--x", "1"]) == (None, ["--x", "1"])
    resolved = _resolve_cli(["--deepspeed", "zero2", "--max_steps", "1"])
    assert resolved[1].endswith("train/deepspeed/zero2.json")
    assert resolved[2:] == ["--max_steps", "1"]
    assert _resolve_cli(["--deepspeed=zero3"])[0].endswith("zero3.json")


def test_rope_base_applies_before_the_model_is_built():
    from transformers import LlamaConfig, LlamaForCausalLM

    from train.common import _apply_rope

    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        vocab_size=32,
        max_position_embeddings=128,
    )
    _apply_rope(config, 5e5, 1024)
    model = LlamaForCausalLM(config)
    head_dim = 64 // 4
    inv_freq = model.model.rotary_emb.inv_freq
    assert float(inv_freq[1]) == pytest.approx(5e5 ** (-2 / head_dim), rel=1e-5)
    assert model.config.max_position_embeddings == 1024
