"""Supervised fine-tuning on an exported mixture with TRL's SFTTrainer.

    teachable train sft train/presets/cpu_smoke_sft.yaml --dataset exports/mix --max_steps 20
    python -m train.sft --config my_sft.yaml                     # same, without the CLI
    accelerate launch --config_file train/accelerate/zero3.yaml -m train.sft --config my_sft.yaml

The run folder gets checkpoints (`checkpoint-N/`, resumable with `resume: true`), the final model
with its tokenizer (think tokens, reasoning template), `metrics.jsonl` and `run_config.yaml`.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from store.errors import ConfigError
from train.common import head, load_model_and_tokenizer, set_threads, train_and_finish
from train.sft_config import SFTRunConfig

log = logging.getLogger(__name__)


def build_sft_trainer(cfg: SFTRunConfig) -> Any:
    from trl import SFTTrainer

    from train.data import SFT_COLUMNS, load_split, require_columns
    from train.metrics import MetricsJSONL

    set_threads(cfg.torch_threads)
    if not cfg.dataset:
        raise ConfigError("set `dataset` to an exported mixture folder")
    model, tokenizer, _ = load_model_and_tokenizer(cfg)
    train = load_split(cfg.dataset, "train", SFT_COLUMNS, cfg.streaming)
    require_columns(train, SFT_COLUMNS, cfg.dataset)
    if cfg.max_train_samples:
        train = head(train, cfg.max_train_samples)
    return SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=train,
        eval_dataset=_eval_split(cfg),
        processing_class=tokenizer,
        callbacks=[MetricsJSONL(cfg.output_dir, "sft")],
    )


def _eval_split(cfg: Any) -> Any:
    from train.data import SFT_COLUMNS, has_split, load_split

    if not cfg.eval_on_val or not has_split(cfg.dataset, "val"):
        return None
    return load_split(cfg.dataset, "val", SFT_COLUMNS, cfg.streaming)


def run_sft(cfg: SFTRunConfig) -> dict[str, Any]:
    return train_and_finish(build_sft_trainer(cfg), cfg)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from train.config_io import load_config, split_config_flag

    config_path, args = split_config_flag(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return run_sft(load_config(SFTRunConfig, config_path, args))


if __name__ == "__main__":
    main()
