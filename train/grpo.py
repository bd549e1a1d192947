"""GRPO on an export's RL prompts (`prompt`, `answer`) with TRL's GRPOTrainer and the
Phi-4-reasoning-plus rewards (train/rewards.py).

    teachable train grpo train/presets/cpu_smoke_grpo.yaml --dataset exports/mix --model runs/sft
    python -m train.grpo --config my_grpo.yaml
    accelerate launch --config_file train/accelerate/zero3.yaml -m train.grpo --config my_grpo.yaml

Generation: vLLM on GPUs (`use_vllm: true`, colocated by default in the preset), plain
transformers `generate` otherwise (CPU). Per-reward means land in `metrics.jsonl` as
`rewards/<name>/mean`, completion lengths as `completions/*_length`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from store.errors import ConfigError
from train.common import head, load_model_and_tokenizer, set_threads, train_and_finish
from train.grpo_config import GRPORunConfig
from train.rewards import phi4_rewards

log = logging.getLogger(__name__)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    return sorted({tokenizer.eos_token_id, *ids} - {None})


def _materialize(model: Any, tokenizer: Any, folder: Path) -> Any:
    """TRL loads the reference model (beta > 0) and vLLM's copy from `model.name_or_path`, so a
    model whose tokenizer changed in memory is saved first and reloaded from there."""
    from transformers import AutoModelForCausalLM

    if not (folder / "config.json").exists():
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return AutoModelForCausalLM.from_pretrained(folder, dtype=model.dtype)


def build_grpo_trainer(cfg: GRPORunConfig) -> Any:
    from trl import GRPOTrainer

    from train.data import GRPO_COLUMNS, load_split, require_columns
    from train.metrics import MetricsJSONL

    set_threads(cfg.torch_threads)
    if not cfg.dataset:
        raise ConfigError("set `dataset` to an exported mixture folder")
    model, tokenizer, setup = load_model_and_tokenizer(cfg)
    if (setup.added or setup.repurposed) and (cfg.beta or cfg.use_vllm):
        model = _materialize(model, tokenizer, Path(cfg.output_dir) / "init")
    train = load_split(cfg.dataset, "train", GRPO_COLUMNS, cfg.streaming)
    require_columns(train, ("prompt", "answer"), cfg.dataset)
    if cfg.max_train_samples:
        train = head(train, cfg.max_train_samples)
    return GRPOTrainer(
        model=model,
        reward_funcs=phi4_rewards(_eos_ids(model, tokenizer), cfg.reward_constants()),
        args=cfg,
        train_dataset=train,
        processing_class=tokenizer,
        callbacks=[MetricsJSONL(cfg.output_dir, "grpo")],
    )


def run_grpo(cfg: GRPORunConfig) -> dict[str, Any]:
    return train_and_finish(build_grpo_trainer(cfg), cfg)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from train.config_io import load_config, split_config_flag

    config_path, args = split_config_flag(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return run_grpo(load_config(GRPORunConfig, config_path, args))


if __name__ == "__main__":
    main()
