"""GRPO run config: TRL's GRPOConfig plus the run fields and the reward constants (flattened as
`reward_*` so each is a YAML key and a CLI flag). Group size 8 by default, as in the report.

Reward lengths left unset scale with `max_completion_length` in the report's proportions
(25,600 / 31,744 for the correct-answer plateau, 3,702 / 31,744 for the wrong-answer ramp).

The learning-signal fields (train/signal_trainer.py): `pass_reward` / `pass_threshold` say
which completions count as solved (for pass rates and prompt filtering), `dynamic_sampling`
drops zero-variance groups and refills the batch, `filter_prompts` drops always/never solved
prompts between epochs, `prompt_difficulty` names the export-time bands and pass rates file.

Presets in train/presets/: `phi4_reasoning_plus_grpo`, `cpu_smoke_grpo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import GRPOConfig

from train.common import RunFields
from train.pool import FILTER_RULES
from train.rewards import RewardConstants

_REPORT_MAX = 31_744


@dataclass
class GRPORunConfig(RunFields, GRPOConfig):
    num_generations: int | None = field(default=8, metadata={"help": "Group size."})
    output_dir: str = field(default="runs/grpo", metadata={"help": "Run folder."})
    resume: bool = field(
        default=False,
        metadata={"help": "Resume from the newest checkpoint in output_dir when there is one."},
    )
    reward_max_length: int | None = field(
        default=None, metadata={"help": "L_max (default max_completion_length)."}
    )
    reward_pos_control_length: int | None = field(
        default=None, metadata={"help": "Correct answers keep the full reward up to this length."}
    )
    reward_neg_control_length: int | None = field(
        default=None, metadata={"help": "Wrong answers reach the mildest penalty at this length."}
    )
    reward_correct_max: float = 1.0
    reward_correct_min: float = 0.5
    reward_incorrect_max: float = -0.5
    reward_incorrect_min: float = -1.0
    reward_truncated_penalty: float = -0.5
    reward_broken_penalty: float = -1.0
    reward_ngram: int = 5
    reward_repetition_scale: float = 1.0
    reward_check_timeout_s: float = 5.0
    reward_require_think: bool = field(
        default=True,
        metadata={"help": "False: a completion without </think> is graded on its whole text."},
    )
    prompt_difficulty: str | None = field(
        default=None,
        metadata={"help": "Parquet/JSONL of seed_id, band, pass_rate at export time."},
    )
    pass_reward: str = field(
        default="accuracy_reward",
        metadata={"help": "Reward function whose value above pass_threshold means solved."},
    )
    pass_threshold: float = 0.0
    dynamic_sampling: bool = field(
        default=False,
        metadata={"help": "DAPO: drop zero-variance groups, refill the batch from the pool."},
    )
    dynamic_sampling_max_batches: int = field(
        default=3, metadata={"help": "Extra generation batches per step for the refill."}
    )
    filter_prompts: str = field(
        default="none",
        metadata={"help": "Between epochs drop prompts: none | solved | unsolved | both."},
    )

    def __post_init__(self) -> None:
        self._check_run_fields()
        if self.filter_prompts not in FILTER_RULES:
            raise ValueError(
                f"filter_prompts must be one of {list(FILTER_RULES)}; got {self.filter_prompts!r}"
            )
        if self.dynamic_sampling_max_batches < 0:
            raise ValueError("dynamic_sampling_max_batches must be >= 0")
        if self.streaming and (self.dynamic_sampling or self.filter_prompts != "none"):
            raise ValueError("dynamic_sampling and filter_prompts need a non-streamed dataset")
        super().__post_init__()

    def reward_constants(self) -> RewardConstants:
        top = self.reward_max_length or self.max_completion_length or _REPORT_MAX
        pos = self.reward_pos_control_length or round(top * 25_600 / _REPORT_MAX)
        neg = self.reward_neg_control_length or max(1, round(top * 3_702 / _REPORT_MAX))
        return RewardConstants(
            max_length=top,
            pos_control_length=pos,
            neg_control_length=neg,
            correct_max=self.reward_correct_max,
            correct_min=self.reward_correct_min,
            incorrect_max=self.reward_incorrect_max,
            incorrect_min=self.reward_incorrect_min,
            truncated_penalty=self.reward_truncated_penalty,
            broken_penalty=self.reward_broken_penalty,
            ngram=self.reward_ngram,
            repetition_scale=self.reward_repetition_scale,
            check_timeout_s=self.reward_check_timeout_s,
            require_think=self.reward_require_think,
        )
