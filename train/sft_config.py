"""SFT run config: TRL's SFTConfig plus the run fields (model, dataset, think tokens, RoPE base,
global batch). Defaults differ from TRL's where the reasoning recipe needs it: loss on assistant
tokens only, and checkpoints that keep the tokenizer.

Presets in train/presets/: `phi4_reasoning_sft` (the report's hyperparameters), `cpu_smoke_sft`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import SFTConfig

from train.common import RunFields


@dataclass
class SFTRunConfig(RunFields, SFTConfig):
    assistant_only_loss: bool = field(
        default=True, metadata={"help": "Loss only on assistant tokens (the template marks them)."}
    )
    output_dir: str = field(default="runs/sft", metadata={"help": "Run folder."})
    resume: bool = field(
        default=False,
        metadata={"help": "Resume from the newest checkpoint in output_dir when there is one."},
    )

    def __post_init__(self) -> None:
        self._check_run_fields()
        super().__post_init__()
