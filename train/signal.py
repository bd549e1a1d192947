"""The GRPO learning signal: which sampled groups can teach, per step and per prompt.

A group (the `num_generations` completions of one prompt) whose total rewards are all equal
has zero advantage under GRPO and adds no policy gradient. TRL logs the share of such groups
(`frac_reward_zero_std`); this module keeps the detail behind it so it can be acted on:

- `rollouts.jsonl`: one row per prompt and step: the prompt's index in the train split, its
  `seed_id`, its band and pass rate at export time, the group's total rewards, how many of its
  completions passed (the `pass_reward` above `pass_threshold`), and whether the group was
  informative (reward std not close to 0, the rule TRL's `frac_reward_zero_std` uses);
- `signal.jsonl`: one row per optimizer step: groups, informative groups, their share overall
  and per band, generations spent;
- `signal_summary.json` (and the run's summary): totals, with `empty_steps`, the steps where no
  group was informative. Each empty step is also a console warning: the step trained on nothing.

Rows are written by the main process from the rewards TRL gathered across processes.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ROLLOUTS_FILE = "rollouts.jsonl"
SIGNAL_FILE = "signal.jsonl"
SUMMARY_FILE = "signal_summary.json"
NO_BAND = "unknown"


def zero_std_groups(rewards: np.ndarray, group_size: int) -> np.ndarray:
    """Per group: is the std of its rewards close to 0 (torch.isclose's default tolerances,
    as TRL's `frac_reward_zero_std`)? NaN rewards (unscorable completions) are ignored."""
    grouped = np.asarray(rewards, dtype=float).reshape(-1, group_size)
    valid = ~np.isnan(grouped)
    counts = valid.sum(axis=1)
    mean = np.where(valid, grouped, 0.0).sum(axis=1) / np.maximum(counts, 1)
    spread = np.where(valid, (grouped - mean[:, None]) ** 2, 0.0).sum(axis=1)
    std = np.sqrt(spread / np.maximum(counts - 1, 1))
    return (counts < 2) | (std <= 1e-8)


@dataclass(frozen=True)
class PromptInfo:
    """What the store said about a prompt when it was exported."""

    band: str = NO_BAND
    pass_rate: float | None = None


@dataclass
class StepSignal:
    groups: int = 0
    informative: int = 0
    generations: int = 0
    by_band: Counter[str] = field(default_factory=Counter)
    informative_by_band: Counter[str] = field(default_factory=Counter)


class SignalRecorder:
    """Collects every scored group (`record`), closes a step's row (`close_step`), and keeps
    each prompt's latest pass count for prompt filtering (`latest`)."""

    def __init__(
        self,
        output_dir: str | Path,
        prompt_info: Mapping[str, PromptInfo] | None = None,
        write: bool = True,
    ) -> None:
        self.dir = Path(output_dir)
        self.prompt_info = dict(prompt_info or {})
        self.write = write
        self.latest: dict[int, tuple[int, int]] = {}  # prompt index -> (passed, samples)
        self.totals = StepSignal()
        self.empty_steps: list[int] = []
        self.steps = 0
        self._open: dict[int, StepSignal] = {}

    def record(
        self,
        step: int,
        rows: Sequence[Mapping[str, Any]],
        rewards: np.ndarray,
        passed: np.ndarray,
        group_size: int,
    ) -> np.ndarray:
        """Record the groups of one scored batch (`rows` and per-completion `rewards`/`passed`,
        groups contiguous); returns the per-group informative mask."""
        zero = zero_std_groups(rewards, group_size)
        n_groups = len(zero)
        grouped = np.asarray(rewards, dtype=float).reshape(n_groups, group_size)
        wins = np.asarray(passed, dtype=bool).reshape(n_groups, group_size).sum(axis=1)
        now = self._open.setdefault(step, StepSignal())
        lines = []
        for g in range(n_groups):
            row = rows[g * group_size]
            info = self._info(row)
            index = int(row.get("prompt_index", -1))
            self.latest[index] = (int(wins[g]), group_size)
            for tally in (now, self.totals):
                tally.groups += 1
                tally.informative += int(not zero[g])
                tally.generations += group_size
                tally.by_band[info.band] += 1
                tally.informative_by_band[info.band] += int(not zero[g])
            lines.append(
                {
                    "step": step,
                    "prompt_index": index,
                    "seed_id": row.get("seed_id"),
                    "band": info.band,
                    "export_pass_rate": info.pass_rate,
                    "rewards": [None if np.isnan(r) else float(r) for r in grouped[g]],
                    "passed": int(wins[g]),
                    "samples": group_size,
                    "informative": bool(not zero[g]),
                }
            )
        self._append(ROLLOUTS_FILE, lines)
        return ~zero

    def _info(self, row: Mapping[str, Any]) -> PromptInfo:
        known = self.prompt_info.get(str(row.get("seed_id")))
        if known is not None:
            return known
        band = row.get("band")
        return PromptInfo(band=str(band) if band else NO_BAND)

    def close_step(self, step: int) -> dict[str, Any] | None:
        """Write the step's row (None when nothing was generated for it) and warn when no
        group of the step was informative."""
        tally = self._open.pop(step, None)
        if tally is None or tally.groups == 0:
            return None
        self.steps += 1
        row: dict[str, Any] = {
            "step": step,
            "groups": tally.groups,
            "informative_groups": tally.informative,
            "informative_share": tally.informative / tally.groups,
            "generations": tally.generations,
        }
        for band, n in sorted(tally.by_band.items()):
            row[f"informative_share/{band}"] = tally.informative_by_band[band] / n
            row[f"groups/{band}"] = n
        if tally.informative == 0:
            self.empty_steps.append(step)
        if tally.informative == 0 and self.write:
            log.warning(
                "step %d: none of its %d groups had any reward variance: the step trained on "
                "nothing (every group all right or all wrong)",
                step,
                tally.groups,
            )
        self._append(SIGNAL_FILE, [row])
        return row

    def summary(self) -> dict[str, Any]:
        t = self.totals
        out: dict[str, Any] = {
            "signal_steps": self.steps,
            "empty_steps": len(self.empty_steps),
            "groups": t.groups,
            "informative_groups": t.informative,
            "informative_share": t.informative / t.groups if t.groups else 0.0,
            "generations": t.generations,
            "generations_per_informative_group": (
                t.generations / t.informative if t.informative else None
            ),
        }
        for band, n in sorted(t.by_band.items()):
            out[f"informative_share/{band}"] = t.informative_by_band[band] / n
        return out

    def write_summary(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        summary = {**self.summary(), "empty_step_numbers": self.empty_steps, **(extra or {})}
        if self.write:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1) + "\n")
        return summary

    def _append(self, name: str, lines: list[dict[str, Any]]) -> None:
        if not self.write or not lines:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / name).open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(line) + "\n" for line in lines)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_prompt_info(path: str | Path | None) -> dict[str, PromptInfo]:
    """seed_id -> export-time band and pass rate, from a Parquet or JSONL file with columns
    `seed_id`, `band`, `pass_rate` (curate.grpo_signal writes it from the store)."""
    if not path:
        return {}
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"prompt_difficulty file not found: {path}")
    frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_ndjson(path)
    missing = {"seed_id", "band", "pass_rate"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    return {
        str(sid): PromptInfo(band or NO_BAND, None if rate is None else float(rate))
        for sid, band, rate in frame.select("seed_id", "band", "pass_rate").iter_rows()
    }
