"""The prompt pool GRPO draws from, kept informative between epochs.

- Per-epoch filtering (Skywork-OR1, Polaris): at the start of each epoch after the first, drop
  the prompts whose latest group the policy always solved (`solved`), never solved
  (`unsolved`), or either (`both`). An epoch keeps its length (the trainer's step count is
  fixed when training starts) by cycling over the prompts still in the pool.
- Refills for dynamic sampling (train/signal_trainer.py) come from a second seeded stream over
  the same pool, so they are prompts the pool still holds.

A pool whose prompts are all filtered out, or in which every prompt drawn since the last
informative group had none (dynamic sampling), ends the run with `NoSignalError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import torch
from trl.trainer.utils import RepeatSampler

log = logging.getLogger(__name__)

FilterRule = Literal["none", "solved", "unsolved", "both"]
FILTER_RULES: tuple[str, ...] = ("none", "solved", "unsolved", "both")


class NoSignalError(RuntimeError):
    """The pool has no prompt left that could give the policy a gradient."""


class PromptPool:
    """Indices of the train split still in play, and the refill stream over them."""

    def __init__(
        self,
        size: int,
        rule: FilterRule = "none",
        latest: Mapping[int, tuple[int, int]] | None = None,
        seed: int = 0,
    ) -> None:
        if rule not in FILTER_RULES:
            raise ValueError(f"filter_prompts must be one of {list(FILTER_RULES)}; got {rule!r}")
        if size <= 0:
            raise ValueError("the prompt pool is empty")
        self.rule = rule
        self.latest = latest if latest is not None else {}  # index -> (passed, samples)
        self.active = list(range(size))
        self.dropped = {"solved": 0, "unsolved": 0}
        self.epochs = 0
        self.since_informative = 0  # prompts scored since the last informative group
        self._generator = torch.Generator().manual_seed(seed + 1)
        self._stream: list[int] = []

    def start_epoch(self) -> list[int]:
        """The prompts of the next epoch, after filtering on the pass rates seen so far."""
        if self.epochs and self.rule != "none":
            self._filter()
        self.epochs += 1
        return list(self.active)

    def _filter(self) -> None:
        keep = []
        for index in self.active:
            passed, samples = self.latest.get(index, (None, None))
            if samples and passed == samples and self.rule in ("solved", "both"):
                self.dropped["solved"] += 1
            elif samples and passed == 0 and self.rule in ("unsolved", "both"):
                self.dropped["unsolved"] += 1
            else:
                keep.append(index)
        log.info(
            "epoch %d: %d prompts left in the pool (dropped so far: %d always solved, %d never)",
            self.epochs + 1,
            len(keep),
            self.dropped["solved"],
            self.dropped["unsolved"],
        )
        if not keep:
            raise NoSignalError(
                f"prompt filtering ({self.rule}) left no prompt in the pool: the policy now "
                "always or never solves every one of them"
            )
        self.active = keep
        self._stream = []

    def scored(self, groups: int, informative: int) -> None:
        self.since_informative = 0 if informative else self.since_informative + groups

    def exhausted(self) -> bool:
        return self.since_informative >= len(self.active)

    def refill(self, n: int) -> list[int]:
        """The next `n` prompts of the refill stream (a fresh permutation of the pool each time
        it runs out)."""
        out: list[int] = []
        while len(out) < n:
            if not self._stream:
                order = torch.randperm(len(self.active), generator=self._generator).tolist()
                self._stream = [self.active[i] for i in order]
            out.append(self._stream.pop(0))
        return out


class PoolSampler(RepeatSampler):
    """TRL's RepeatSampler over the pool's current prompts: same group layout (each prompt
    `mini_repeat_count` times in a row, chunks of `batch_size` prompts repeated
    `repeat_count` times), same epoch length as over the whole split."""

    def __init__(self, pool: PromptPool, **kwargs: Any) -> None:  # RepeatSampler's arguments
        super().__init__(**kwargs)
        self.pool = pool
        if not getattr(self, "shuffle", True) or not hasattr(self, "generator"):
            self.generator = torch.Generator().manual_seed(self.seed or 0)

    def __iter__(self) -> Iterator[int]:
        active = self.pool.start_epoch()
        chunks = self.num_samples // self.batch_size  # full chunks of the unfiltered epoch
        order: list[int] = []
        while len(order) < chunks * self.batch_size:
            if self.shuffle:
                perm = torch.randperm(len(active), generator=self.generator).tolist()
                order.extend(active[i] for i in perm)
            else:
                order.extend(active)
        for c in range(chunks):
            chunk = order[c * self.batch_size : (c + 1) * self.batch_size]
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index
