"""The learning-signal measurement on planted groups of known reward variance, the prompt pool
(per-epoch filtering, refills) and the batch surgery dynamic sampling does. No model."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from train.batch import concat_batches, select_rows
from train.pool import NoSignalError, PoolSampler, PromptPool
from train.signal import PromptInfo, SignalRecorder, load_prompt_info, read_jsonl, zero_std_groups

G = 4
ALL_RIGHT = [1.0, 1.0, 1.0, 1.0]
ALL_WRONG = [-0.5, -0.5, -0.5, -0.5]
MIXED = [1.0, -0.5, -0.5, 1.0]


def _rows(bands: list[str]) -> list[dict]:
    return [
        {"prompt_index": i, "seed_id": f"s{i}", "band": band}
        for i, band in enumerate(bands)
        for _ in range(G)
    ]


@pytest.mark.parametrize(
    ("groups", "zero"),
    [
        ([ALL_RIGHT, ALL_WRONG, MIXED], [True, True, False]),
        ([MIXED, MIXED], [False, False]),
        ([ALL_WRONG], [True]),
        ([[0.0, 0.0, 0.0, 1e-3]], [False]),  # a small difference is still a gradient
        ([[1.0, np.nan, 1.0, 1.0], [np.nan, np.nan, np.nan, np.nan]], [True, True]),
        ([[1.0, np.nan, -1.0, 1.0]], [False]),
    ],
)
def test_zero_std_groups_exact(groups: list[list[float]], zero: list[bool]):
    assert zero_std_groups(np.array(groups).ravel(), G).tolist() == zero


def test_recorder_shares_by_band_and_rollout_rows(tmp_path: Path):
    info = {"s0": PromptInfo("too_easy", 0.9), "s2": PromptInfo("teachable", 0.5)}
    rec = SignalRecorder(tmp_path, info)
    rewards = np.array([*ALL_RIGHT, *ALL_WRONG, *MIXED, *MIXED])
    passed = rewards > 0
    informative = rec.record(3, _rows(["x", "too_hard", "y", "teachable"]), rewards, passed, G)
    assert informative.tolist() == [False, False, True, True]
    row = rec.close_step(3)
    assert row is not None
    assert row["groups"] == 4 and row["informative_groups"] == 2
    assert row["informative_share"] == 0.5
    # s0 and s2 take the store's band over the export column; s1, s3 keep the column's
    assert row["informative_share/too_easy"] == 0.0
    assert row["informative_share/too_hard"] == 0.0
    assert row["informative_share/teachable"] == 1.0
    assert row["groups/teachable"] == 2
    lines = read_jsonl(tmp_path / "rollouts.jsonl")
    assert [x["passed"] for x in lines] == [4, 0, 2, 2]
    assert [x["informative"] for x in lines] == [False, False, True, True]
    assert lines[0]["export_pass_rate"] == 0.9 and lines[1]["export_pass_rate"] is None
    assert lines[2]["rewards"] == MIXED
    assert rec.latest == {0: (4, 4), 1: (0, 4), 2: (2, 4), 3: (2, 4)}


def test_an_empty_step_warns_and_is_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    rec = SignalRecorder(tmp_path)
    rec.record(1, _rows(["a", "a"]), np.array([*MIXED, *ALL_RIGHT]), np.ones(8, bool), G)
    rec.close_step(1)
    with caplog.at_level(logging.WARNING, logger="train.signal"):
        rec.record(2, _rows(["a", "a"]), np.array([*ALL_WRONG, *ALL_RIGHT]), np.ones(8, bool), G)
        # a refill batch of the same step counts with it
        rec.record(2, _rows(["b"]), np.array(ALL_WRONG), np.zeros(4, bool), G)
        rec.close_step(2)
    assert "step 2: none of its 3 groups" in caplog.text
    assert rec.close_step(7) is None  # nothing generated for step 7: not a step of the signal
    summary = rec.write_summary()
    assert summary["empty_steps"] == 1 and summary["empty_step_numbers"] == [2]
    assert summary["signal_steps"] == 2
    assert summary["groups"] == 5 and summary["informative_groups"] == 1
    assert summary["generations"] == 20
    assert summary["generations_per_informative_group"] == 20.0
    assert json.loads((tmp_path / "signal_summary.json").read_text())["empty_steps"] == 1
    steps = read_jsonl(tmp_path / "signal.jsonl")
    assert [(s["step"], s["informative_groups"]) for s in steps] == [(1, 1), (2, 0)]


def test_prompt_info_file_checked(tmp_path: Path):
    import polars as pl

    good = tmp_path / "d.parquet"
    pl.DataFrame({"seed_id": ["a"], "band": ["teachable"], "pass_rate": [0.25]}).write_parquet(good)
    assert load_prompt_info(good) == {"a": PromptInfo("teachable", 0.25)}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seed_id": "a", "band": "x"}\n')
    with pytest.raises(ValueError, match="pass_rate"):
        load_prompt_info(bad)
    with pytest.raises(FileNotFoundError):
        load_prompt_info(tmp_path / "missing.parquet")


@pytest.mark.parametrize(
    ("rule", "left"),
    [("none", [0, 1, 2, 3]), ("solved", [1, 2, 3]), ("unsolved", [0, 2, 3]), ("both", [2, 3])],
)
def test_pool_filters_between_epochs(rule: str, left: list[int]):
    pool = PromptPool(4, rule, {0: (4, 4), 1: (0, 4), 2: (1, 4)})  # 3 never rolled out
    assert pool.start_epoch() == [0, 1, 2, 3]  # the first epoch is never filtered
    assert pool.start_epoch() == left


def test_pool_with_nothing_left_stops():
    pool = PromptPool(2, "both", {0: (4, 4), 1: (0, 4)})
    pool.start_epoch()
    with pytest.raises(NoSignalError, match="left no prompt"):
        pool.start_epoch()
    with pytest.raises(ValueError, match="filter_prompts"):
        PromptPool(2, "sometimes")  # type: ignore[arg-type]


def test_pool_refill_and_exhaustion():
    pool = PromptPool(5, seed=3)
    drawn = pool.refill(5) + pool.refill(5)
    assert sorted(drawn[:5]) == sorted(drawn[5:]) == [0, 1, 2, 3, 4]
    pool.scored(groups=3, informative=0)
    assert not pool.exhausted()
    pool.scored(groups=2, informative=0)
    assert pool.exhausted()
    pool.scored(groups=2, informative=1)
    assert not pool.exhausted()


def test_pool_sampler_keeps_group_layout_and_epoch_length():
    pool = PromptPool(6, "solved", {0: (2, 2), 1: (2, 2), 2: (2, 2)})
    sampler = PoolSampler(
        pool, data_source=list(range(6)), mini_repeat_count=2, batch_size=2, repeat_count=1,
        shuffle=True, seed=0,
    )  # fmt: skip
    first = list(sampler)
    second = list(sampler)
    assert len(first) == len(second) == len(sampler) == 12
    assert sorted(set(first)) == [0, 1, 2, 3, 4, 5]
    assert set(second) <= {3, 4, 5}  # the always-solved prompts are gone, the epoch as long
    assert all(second[i] == second[i + 1] for i in range(0, 12, 2))  # groups stay together


def _batch(n: int, prompt_w: int, comp_w: int, start: float) -> dict:
    return {
        "prompt_ids": torch.full((n, prompt_w), 7),
        "prompt_mask": torch.ones(n, prompt_w, dtype=torch.long),
        "completion_ids": torch.full((n, comp_w), 9),
        "completion_mask": torch.ones(n, comp_w, dtype=torch.long),
        "advantages": torch.arange(n, dtype=torch.float) + start,
        "num_items_in_batch": torch.tensor(n * comp_w),
    }


def test_select_and_concat_batches_pad_on_trl_sides():
    a = select_rows(_batch(4, 3, 2, 0.0), torch.tensor([False, True, False, True]))
    assert a["advantages"].tolist() == [1.0, 3.0]
    assert int(a["num_items_in_batch"]) == 4
    joined = concat_batches([a, _batch(2, 5, 4, 10.0)], pad_token_id=0)
    assert joined["advantages"].tolist() == [1.0, 3.0, 10.0, 11.0]
    assert joined["prompt_ids"].shape == (4, 5) and joined["completion_ids"].shape == (4, 4)
    assert joined["prompt_mask"][0].tolist() == [0, 0, 1, 1, 1]  # prompts left-padded
    assert joined["completion_mask"][0].tolist() == [1, 1, 0, 0]  # completions right-padded
    assert int(joined["num_items_in_batch"]) == 2 * 2 + 2 * 4
    with pytest.raises(ValueError, match="text prompts"):
        select_rows({**_batch(2, 1, 1, 0), "pixel_values": torch.ones(2, 3)}, torch.ones(2))
