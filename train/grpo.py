"""GRPO on an export's RL prompts (`prompt`, `answer`) with TRL's GRPOTrainer and the
Phi-4-reasoning-plus rewards (train/rewards.py).

    teachable train grpo train/presets/cpu_smoke_grpo.yaml --dataset exports/mix --model runs/sft
    python -m train.grpo --config my_grpo.yaml
    accelerate launch --config_file train/accelerate/zero3.yaml -m train.grpo --config my_grpo.yaml

Generation: vLLM on GPUs (`use_vllm: true`, colocated by default in the preset), plain
transformers `generate` otherwise (CPU). Per-reward means land in `metrics.jsonl` as
`rewards/<name>/mean`, completion lengths as `completions/*_length`. The learning signal (which
groups had reward variance, per step, prompt and band) lands in `rollouts.jsonl`,
`signal.jsonl` and `signal_summary.json` (train/signal.py); steps with no informative group are
warned about and counted as `empty_steps` in the summary.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, cast

from store.errors import ConfigError
from train.common import head, load_model_and_tokenizer, set_threads, train_and_finish
from train.grpo_config import GRPORunConfig
from train.pool import FilterRule, NoSignalError, PromptPool
from train.rewards import phi4_rewards
from train.signal import SignalRecorder, load_prompt_info

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
    from train.data import GRPO_COLUMNS, load_split, require_columns
    from train.metrics import MetricsJSONL
    from train.signal_trainer import INDEX_COLUMN, SignalGRPOTrainer

    set_threads(cfg.torch_threads)
    if not cfg.dataset:
        raise ConfigError("set `dataset` to an exported mixture folder")
    model, tokenizer, setup = load_model_and_tokenizer(cfg)
    if (setup.added or setup.repurposed) and (cfg.beta or cfg.use_vllm):
        model = _materialize(model, tokenizer, Path(cfg.output_dir) / "init")
    train = load_split(cfg.dataset, "train", (*GRPO_COLUMNS, "seed_id", "band"), cfg.streaming)
    require_columns(train, ("prompt", "answer"), cfg.dataset)
    if cfg.max_train_samples:
        train = head(train, cfg.max_train_samples)
    if hasattr(train, "__len__"):  # the pool's identity of a prompt: its row in the split
        train = train.add_column(INDEX_COLUMN, list(range(len(train))))
    recorder = SignalRecorder(cfg.output_dir, load_prompt_info(cfg.prompt_difficulty))
    rule = cast(FilterRule, cfg.filter_prompts)  # one of FILTER_RULES: GRPORunConfig checks it
    pool = PromptPool(len(train) if hasattr(train, "__len__") else 1, rule)
    return SignalGRPOTrainer(
        model=model,
        reward_funcs=phi4_rewards(_eos_ids(model, tokenizer), cfg.reward_constants()),
        args=cfg,
        train_dataset=train,
        processing_class=tokenizer,
        callbacks=[MetricsJSONL(cfg.output_dir, "grpo")],
        recorder=recorder,
        pool=pool,
        pass_reward=cfg.pass_reward,
        pass_threshold=cfg.pass_threshold,
        dynamic_sampling=cfg.dynamic_sampling,
        dynamic_sampling_max_batches=cfg.dynamic_sampling_max_batches,
    )


def run_grpo(cfg: GRPORunConfig) -> dict[str, Any]:
    """Train, then return the run's summary with the learning-signal totals. A pool that runs
    out of informative prompts stops the run: the model so far is saved and the summary's
    `stopped` says why."""
    trainer = build_grpo_trainer(cfg)
    recorder: SignalRecorder = trainer.recorder
    try:
        result = train_and_finish(trainer, cfg)
        stopped = None
    except NoSignalError as exc:
        log.warning("run stopped: %s", exc)
        trainer.save_model(cfg.output_dir)
        trainer.save_state()
        result = {"global_step": trainer.state.global_step}
        stopped = str(exc)
    recorder.close_step(trainer.state.global_step + 1)  # a step cut short by the stop
    extra: dict[str, Any] = {
        "refill_batches": trainer.refill_batches,
        "pool_prompts": len(trainer.pool.active),
        "dropped_solved": trainer.pool.dropped["solved"],
        "dropped_unsolved": trainer.pool.dropped["unsolved"],
    }
    if stopped:
        extra["stopped"] = stopped
    signal = recorder.write_summary({**extra, "global_step": result["global_step"]})
    signal.pop("empty_step_numbers")
    if signal["empty_steps"]:
        log.warning(
            "%d of %d steps had no informative group (all rewards equal in every group)",
            signal["empty_steps"],
            signal["signal_steps"],
        )
    return {**result, **signal}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from train.config_io import load_config, split_config_flag

    config_path, args = split_config_flag(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return run_grpo(load_config(GRPORunConfig, config_path, args))


if __name__ == "__main__":
    main()
