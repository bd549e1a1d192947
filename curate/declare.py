"""The stages of curate's top-level modules (store.stage.Stage): `sft` (curate/training.py).
Its recipe stage and `teachable sft` command come from this declaration."""

from __future__ import annotations

from store.stage import Stage

SFT_STAGE = Stage(
    "sft",
    config="curate.training:SFTStageConfig",
    run="curate.training:run_sft_stage",
    help="Fine-tune on an exported mixture as a journaled recipe stage (skips a finished run).",
    example="teachable sft --dataset exports/edge --output-dir runs/edge --settings "
    "'{\"max_steps\": 60}'",
)
