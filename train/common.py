"""What SFT and GRPO share: the run fields of both configs, the model/tokenizer set-up, and the
run folder's life cycle (resume point, final save)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from store.errors import ConfigError

log = logging.getLogger(__name__)


class _MixedIn(Protocol):
    """RunFields inside a TRL config: its own fields and the TrainingArguments ones it reads."""

    streaming: bool
    global_batch_size: int | None
    max_steps: int
    per_device_train_batch_size: int
    gradient_accumulation_steps: int


@dataclass
class RunFields:
    """Fields both run configs add to TRL's own config."""

    model: str = field(
        default="smollm2",
        metadata={"help": "HF model folder, a .gguf file (dequantized and cached), or `smollm2`."},
    )
    dataset: str = field(
        default="", metadata={"help": "Exported mixture folder (train/val parquet or jsonl)."}
    )
    streaming: bool = field(
        default=False, metadata={"help": "Stream the dataset (needs max_steps)."}
    )
    eval_on_val: bool = field(
        default=False, metadata={"help": "Evaluate on the export's val split when present."}
    )
    repurpose_placeholder_tokens: bool = field(
        default=True,
        metadata={"help": "Use unused/reserved tokens as <think></think> when the vocab has them."},
    )
    rope_theta: float | None = field(
        default=None, metadata={"help": "New RoPE base frequency for long context (e.g. 5e5)."}
    )
    max_position_embeddings: int | None = field(
        default=None, metadata={"help": "New context size in the model config (with rope_theta)."}
    )
    global_batch_size: int | None = field(
        default=None,
        metadata={"help": "Sets gradient_accumulation_steps = global / (per_device * world)."},
    )
    torch_threads: int | None = field(default=None, metadata={"help": "torch CPU threads."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N training rows."}
    )

    def _check_run_fields(self: _MixedIn) -> None:
        if self.streaming and self.max_steps <= 0:
            raise ConfigError("a streamed dataset has no length: set max_steps")
        _apply_global_batch(self)


def _apply_global_batch(cfg: _MixedIn) -> None:
    if not cfg.global_batch_size:
        return
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = cfg.per_device_train_batch_size * world
    if cfg.global_batch_size % per_step:
        raise ConfigError(
            f"global_batch_size {cfg.global_batch_size} is not a multiple of "
            f"per_device_train_batch_size x world size = {per_step}"
        )
    cfg.gradient_accumulation_steps = cfg.global_batch_size // per_step


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def load_model_and_tokenizer(cfg: Any) -> tuple[Any, Any, Any]:
    """(model, tokenizer, token setup) with think tokens, the reasoning template, and the RoPE
    base / context size from the config applied before the weights load."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from train.model_loading import trainable_folder
    from train.tokens import fit_model, prepare_tokenizer

    folder = trainable_folder(cfg.model)
    config = AutoConfig.from_pretrained(folder)
    _apply_rope(config, cfg.rope_theta, cfg.max_position_embeddings)
    kwargs = dict(cfg.model_init_kwargs or {})
    model = AutoModelForCausalLM.from_pretrained(folder, config=config, **kwargs)
    tokenizer, setup = prepare_tokenizer(
        AutoTokenizer.from_pretrained(folder), repurpose=cfg.repurpose_placeholder_tokens
    )
    fit_model(model, tokenizer)
    log.info("model %s: think ids %s, %s", folder, setup.think_ids, setup)
    return model, tokenizer, setup


def _apply_rope(config: Any, theta: float | None, positions: int | None) -> None:
    # The rotary inverse frequencies are computed from the config when the model is built, so
    # changing the base here (not after loading) is what takes effect. Phi-4-reasoning doubled
    # the context to 32K by raising the base; the weights are unchanged.
    text_config = config.get_text_config()
    if theta:
        params = dict(getattr(text_config, "rope_parameters", None) or {"rope_type": "default"})
        params["rope_theta"] = float(theta)
        text_config.rope_parameters = params
    if positions:
        text_config.max_position_embeddings = int(positions)


def head(dataset: Any, n: int) -> Any:
    if hasattr(dataset, "__len__"):
        return dataset.select(range(min(n, len(dataset))))
    return dataset.take(n)  # IterableDataset


def resume_point(cfg: Any) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if cfg.resume_from_checkpoint:
        return cfg.resume_from_checkpoint
    out = Path(cfg.output_dir)
    return get_last_checkpoint(str(out)) if cfg.resume and out.is_dir() else None


def save_run_config(trainer: Any, cfg: Any) -> None:
    """The resolved config as `run_config.yaml`, written before training so a crashed run
    still says what it was."""
    import yaml

    if trainer.is_world_process_zero():
        settings = {k: v for k, v in cfg.to_dict().items() if _plain(v)}
        Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(cfg.output_dir) / "run_config.yaml").write_text(yaml.safe_dump(settings))


def train_and_finish(trainer: Any, cfg: Any) -> dict[str, Any]:
    """Train (resuming when asked), then save the final model + tokenizer and trainer state."""
    save_run_config(trainer, cfg)
    result = trainer.train(resume_from_checkpoint=resume_point(cfg))
    trainer.save_model(cfg.output_dir)
    trainer.save_state()
    metrics = dict(result.metrics)
    return {"global_step": result.global_step, "train_loss": result.training_loss, **metrics}


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)
