"""TRL's GRPOTrainer with the learning signal recorded and, when asked, kept up.

What TRL 1.16 does natively: it samples `num_generations` completions per prompt, scores them
with the reward functions (`fn(completions, **columns) -> list[float]`), normalizes rewards per
group into advantages, and logs `frac_reward_zero_std`, the share of groups whose rewards are
all equal (zero advantage: no gradient). It cannot act on it.

What this subclass adds, through two narrow overrides:
- `_calculate_rewards` (after TRL's own): every group is recorded (train/signal.py) with its
  prompt's export-time band and pass rate, and whether it was informative;
- `_generate_and_score_completions` with `dynamic_sampling` (DAPO): zero-variance groups are
  dropped from the batch and the batch is refilled from further pool prompts, up to
  `dynamic_sampling_max_batches` extra generation batches per step; past the cap the step
  trains on the informative groups it has, and it never trains on none: it keeps drawing until
  one group is informative or every prompt of the pool has come up empty in a row
  (`NoSignalError`, which ends the run);
- `_get_train_sampler`: the pool (train/pool.py), filtered between epochs by `filter_prompts`.
The reward functions, their signature and the loss are TRL's. Dynamic sampling needs a single
process (a rank that drops different groups than another would desynchronize their gathers).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from accelerate.utils import gather_object
from torch.utils.data import IterableDataset
from transformers import PreTrainedTokenizerBase, TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from train.batch import concat_batches, select_rows, take_rows
from train.pool import NoSignalError, PoolSampler, PromptPool
from train.signal import SignalRecorder

log = logging.getLogger(__name__)

INDEX_COLUMN = "prompt_index"
_ROW_KEYS = (INDEX_COLUMN, "seed_id", "band")


class _CloseSteps(TrainerCallback):
    def __init__(self, recorder: SignalRecorder) -> None:
        self.recorder = recorder

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.recorder.close_step(state.global_step)


class SignalGRPOTrainer(GRPOTrainer):
    args: GRPOConfig  # Trainer declares TrainingArguments; TRL's trainer holds its GRPOConfig

    def __init__(
        self,
        *args: Any,
        recorder: SignalRecorder,
        pool: PromptPool,
        pass_reward: str = "accuracy_reward",
        pass_threshold: float = 0.0,
        dynamic_sampling: bool = False,
        dynamic_sampling_max_batches: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        group = self.num_generations
        per_batch, per_chunk = self.args.generation_batch_size, self.args.steps_per_generation
        if group is None or per_batch is None or per_chunk is None:  # GRPOConfig sets all three
            raise ValueError(
                "GRPOConfig left a generation size unset (num_generations, "
                "generation_batch_size or steps_per_generation)"
            )
        self._group, self._per_batch, self._per_chunk = group, per_batch, per_chunk
        if pass_reward not in self.reward_func_names:
            raise ValueError(
                f"pass_reward {pass_reward!r} is not one of the reward functions "
                f"{self.reward_func_names}"
            )
        if dynamic_sampling and self.accelerator.num_processes > 1:
            raise ValueError("dynamic_sampling runs in a single process (see train/signal_trainer)")
        recorder.write = recorder.write and self.accelerator.is_main_process  # every rank
        self.recorder = recorder  # records (the pool filters on it), the main one writes
        self.pool = pool
        self.pool.latest = recorder.latest
        self.pass_index = self.reward_func_names.index(pass_reward)
        self.pass_threshold = pass_threshold
        self.dynamic_sampling = dynamic_sampling
        self.max_refills = dynamic_sampling_max_batches
        self.refill_batches = 0
        self._informative: torch.Tensor | None = None
        self.add_callback(_CloseSteps(recorder))

    def _get_train_sampler(self, dataset: Any = None) -> Any:
        return PoolSampler(
            self.pool,
            data_source=self.train_dataset if dataset is None else dataset,
            mini_repeat_count=self._group,
            batch_size=self._per_batch // self._group,
            repeat_count=self.num_iterations * self._per_chunk,
            shuffle=self.shuffle_dataset,
            seed=self.args.seed,
        )

    def _calculate_rewards(
        self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any
    ) -> torch.Tensor:
        rewards_per_func = super()._calculate_rewards(
            inputs, prompts, completions, completion_ids_list
        )
        if self._training():
            self._informative = self._record(inputs, rewards_per_func)
        return rewards_per_func

    def _training(self) -> bool:
        return self.model is not None and self.model.training

    def _record(self, inputs: list[dict[str, Any]], rewards_per_func: torch.Tensor) -> torch.Tensor:
        """Record the gathered groups; returns this process's per-completion informative mask."""
        per_func = rewards_per_func.detach().float().cpu().numpy()
        weights = self.reward_weights.detach().float().cpu().numpy()
        total = np.nansum(per_func * weights, axis=1)
        total[np.isnan(per_func).all(axis=1)] = np.nan  # unscorable, as TRL marks them
        passed = np.nan_to_num(per_func[:, self.pass_index], nan=-np.inf) > self.pass_threshold
        rows = gather_object([{k: x.get(k) for k in _ROW_KEYS} for x in inputs])
        step = self.state.global_step + 1  # the optimizer step these rollouts train
        group = self._group
        informative = self.recorder.record(step, rows, total, passed, group)
        self.pool.scored(len(informative), int(informative.sum()))
        mask = np.repeat(informative, group)
        start = self.accelerator.process_index * len(inputs)
        return torch.from_numpy(mask[start : start + len(inputs)].copy())

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super()._generate_and_score_completions(inputs)
        if not (self.dynamic_sampling and self._training()):
            return batch
        return self._keep_informative(inputs, batch)

    def _keep_informative(
        self, inputs: list[dict[str, Any]], batch: dict[str, Any]
    ) -> dict[str, Any]:
        group, per_chunk = self._group, self._per_chunk
        target = len(inputs) // group
        dataset, tokenizer = self.train_dataset, self.processing_class
        # GRPORunConfig refuses a streamed dataset with dynamic sampling; grpo.py passes a tokenizer
        assert dataset is not None and not isinstance(dataset, IterableDataset)
        assert isinstance(tokenizer, PreTrainedTokenizerBase)
        assert self._informative is not None
        parts = [select_rows(batch, self._informative)]
        kept = int(self._informative.sum()) // group
        refills = 0
        while True:
            usable = _usable_groups(min(kept, target), group, per_chunk)
            if usable == target or (usable and refills >= self.max_refills):
                break
            if self.pool.exhausted():
                raise NoSignalError(
                    "dynamic sampling: every prompt of the pool drawn since the last "
                    f"informative group ({self.pool.since_informative}) had all its "
                    f"{group} rewards equal; the pool has no informative prompt left "
                    "for this policy"
                )
            rows = [{**dataset[i]} for i in self.pool.refill(target) for _ in range(group)]
            refills += 1
            scored = super()._generate_and_score_completions(rows)
            assert self._informative is not None
            parts.append(select_rows(scored, self._informative))
            kept += int(self._informative.sum()) // group
        self.refill_batches += refills
        self._metrics["train"]["dynamic/refill_batches"].append(float(refills))
        self._metrics["train"]["dynamic/kept_groups"].append(float(usable))
        if usable < target:
            log.warning(
                "step %d: dynamic sampling found %d of %d informative groups after %d refill "
                "batches (the cap); training on those",
                self.state.global_step + 1,
                usable,
                target,
                refills,
            )
        joined = concat_batches(parts, tokenizer.pad_token_id)
        return take_rows(joined, usable * group)


def _usable_groups(groups: int, group_size: int, chunks: int) -> int:
    """The most groups <= `groups` whose completions split evenly into `chunks`
    (TRL splits a generation batch into steps_per_generation equal slices)."""
    while groups and (groups * group_size) % chunks:
        groups -= 1
    return groups
