"""The packaged DeepSpeed and accelerate configs parse with those libraries' own classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from train.config_io import ACCELERATE_DIR, DEEPSPEED_DIR, PACKAGE_DIR, deepspeed_path

REPO = PACKAGE_DIR.parent


def _resolved(stage: int, tmp_path: Path) -> dict:
    """Fill the JSON's "auto" values the way the HF Trainer does, from real TrainingArguments
    and a (tiny, randomly initialised) real Llama model."""
    from transformers import LlamaConfig, LlamaForCausalLM, TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        gradient_accumulation_steps=4,
        max_grad_norm=1.0,
        bf16=True,
        use_cpu=True,  # bf16 on a machine without a GPU needs it; the JSON is the same
        report_to="none",
    )
    tiny = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=128,
    )
    hf = HfTrainerDeepSpeedConfig(str(DEEPSPEED_DIR / f"zero{stage}.json"))
    hf.trainer_config_process(args)
    hf.trainer_config_finalize(args, LlamaForCausalLM(tiny), num_training_steps=100)
    return hf.config


@pytest.mark.parametrize("stage", [2, 3])
def test_zero_configs_parse_with_deepspeed(stage: int, tmp_path: Path):
    from deepspeed.runtime.config import DeepSpeedConfig

    resolved = _resolved(stage, tmp_path)
    assert "auto" not in json.dumps(resolved)
    parsed = DeepSpeedConfig(resolved)
    assert parsed.zero_optimization_stage == stage
    assert parsed.train_micro_batch_size_per_gpu == 2
    assert parsed.gradient_accumulation_steps == 4
    assert parsed.train_batch_size == 8  # one process here
    assert parsed.bfloat16_config.enabled
    assert parsed.gradient_clipping == 1.0
    if stage == 3:
        assert parsed.zero_config.gather_16bit_weights_on_model_save
        assert parsed.zero_config.prefetch_bucket_size == int(0.9 * 64 * 64)


def test_deepspeed_rejects_a_misspelled_zero_key(tmp_path: Path):
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig

    zero = dict(_resolved(3, tmp_path)["zero_optimization"])
    DeepSpeedZeroConfig(**zero)
    zero["stage3_prefech_bucket_size"] = 1
    with pytest.raises(ValueError):
        DeepSpeedZeroConfig(**zero)


def test_shorthand_names_resolve_to_packaged_files():
    assert deepspeed_path("zero3") == str(DEEPSPEED_DIR / "zero3.json")
    assert deepspeed_path("/x/custom.json") == "/x/custom.json"
    assert deepspeed_path(None) is None


@pytest.mark.parametrize("name", ["zero2", "zero3", "multinode_zero3"])
def test_accelerate_launch_configs_load(name: str):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(ACCELERATE_DIR / f"{name}.yaml"))
    assert str(config.distributed_type) in {"DistributedType.DEEPSPEED", "DEEPSPEED"}
    ds_file = REPO / config.deepspeed_config["deepspeed_config_file"]
    assert ds_file.exists()
    stage = json.loads(ds_file.read_text())["zero_optimization"]["stage"]
    assert config.deepspeed_config["zero3_init_flag"] is (stage == 3)
    assert config.num_processes == 8 * config.num_machines
