"""GRPO on equal-size prompt sets by band: how many groups teach, per generation spent.

Usage:
    teachable run recipes/experiments/grpo_signal.yaml     # pool, difficulty, arm selections
    .venv/bin/python bench/grpo_signal.py --store grpo-signal
    .venv/bin/python bench/grpo_signal.py --run           # runs the recipe first

Arms, from the recipe's selections: `teachable` (the teachable band), `random` (a uniform draw
over every band), `too_easy`, `too_hard`, each `--prompts` prompts (the smallest band caps it),
plus `random+dynamic` (the random arm with DAPO dynamic sampling). Each arm trains GRPO with
the same steps, group size, batch and seed (train/grpo.py, accuracy reward only, no </think>
required), from the same base model (SmolLM2-135M). Printed per arm: the share of informative
groups (reward std > 0), generations per informative group, and the held-out reward and pass
rate before and after, avg over `--samples` sampled runs with the spread across runs. The
random arm's rollouts are then written back as a difficulty run of its checkpoint (no model
calls) and its bands shown beside the weak model's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "experiments" / "grpo_signal.yaml"
ARMS = ("teachable", "random", "too_easy", "too_hard")
SYSTEM = "Give only the final answer."


def _prompt(problem: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": problem}]


def arm_sets(store: Any, n: int, seed: int) -> dict[str, pl.DataFrame]:
    """Equal-size prompt sets from the arm selections (seed_id, problem, answer, ...)."""
    from curate.teachability.select import latest_difficulty, read_selection

    bands = (
        latest_difficulty(store)
        .group_by("seed_id")
        .agg(pl.col("band").first(), pl.col("pass_rate").mean())
    )
    pools = {arm: read_selection(store, f"arm_{arm}") for arm in ARMS}
    size = min(n, *(frame.height for frame in pools.values()))
    if size == 0:
        empty = [arm for arm, frame in pools.items() if frame.height == 0]
        raise SystemExit(f"no prompts in arm(s) {empty}: grow the pool in {RECIPE.name}")
    return {
        arm: frame.sort("seed_id").sample(size, seed=seed).join(bands, on="seed_id", how="left")
        for arm, frame in pools.items()
    }


def write_dataset(frame: pl.DataFrame, folder: Path) -> Path:
    """The arm as an export-shaped train split, plus its seeds' bands and pass rates."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": r["seed_id"],
            "seed_id": r["seed_id"],
            "band": r["band"],
            "prompt": _prompt(r["problem"]),
            "answer": r["answer"],
            "answer_type": r["answer_type"],
        }
        for r in frame.iter_rows(named=True)
    ]
    pl.DataFrame(rows).write_parquet(folder / "train.parquet")
    frame.select("seed_id", "band", "pass_rate").write_parquet(folder / "difficulty.parquet")
    return folder


def grpo_settings(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    return {
        "model": "smollm2",
        "max_steps": args.steps,
        "num_generations": args.group,
        "per_device_train_batch_size": args.group * args.prompts_per_step,
        "max_completion_length": args.tokens,
        "learning_rate": args.lr,
        "seed": seed,
        "reward_require_think": False,
        "reward_weights": [1.0, 0.0, 0.0],
        "reward_neg_control_length": 1,  # every wrong answer -0.5: variance = mixed correctness
        "save_strategy": "no",
        "torch_threads": 1,
    }


def train_arm(folder: Path, out: Path, settings: dict[str, Any], dynamic: bool) -> dict:
    from train.config_io import load_config
    from train.grpo import run_grpo
    from train.grpo_config import GRPORunConfig

    cfg = load_config(
        GRPORunConfig,
        "cpu_smoke_grpo",
        **settings,
        dataset=str(folder),
        output_dir=str(out),
        prompt_difficulty=str(folder / "difficulty.parquet"),
        dynamic_sampling=dynamic,
        dynamic_sampling_max_batches=2,
    )
    summary = run_grpo(cfg)
    gc.collect()
    return summary


def heldout_scores(
    model_dir: str, items: pl.DataFrame, settings: dict[str, Any], samples: int, seed: int
) -> np.ndarray:
    """(sample run, item) accuracy rewards, sampled as in training (temperature 1)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from train.model_loading import trainable_folder
    from train.rewards import RewardConstants, length_aware_accuracy
    from train.tokens import fit_model, prepare_tokenizer

    folder = trainable_folder(model_dir)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(folder))[0]
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder)
    fit_model(model, tokenizer)
    model.eval()
    top = settings["max_completion_length"]
    reward = length_aware_accuracy(
        RewardConstants(
            max_length=top, pos_control_length=top, neg_control_length=1, require_think=False
        )
    )
    texts = [
        tokenizer.apply_chat_template(_prompt(p), tokenize=False, add_generation_prompt=True)
        for p in items["problem"]
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(
            **batch,
            do_sample=True,
            temperature=1.0,
            max_new_tokens=top,
            num_return_sequences=samples,
            pad_token_id=tokenizer.pad_token_id,
        )
    completions = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], True)
    answers = [a for a in items["answer"] for _ in range(samples)]
    kinds = [t for t in items["answer_type"] for _ in range(samples)]
    scores = np.array(reward(completions, answer=answers, answer_type=kinds))
    del model
    gc.collect()
    return scores.reshape(len(texts), samples).T


def spread(scores: np.ndarray, passed: bool = False) -> str:
    runs = (scores > 0).mean(axis=1) * 100 if passed else scores.mean(axis=1)
    std = runs.std(ddof=1) if len(runs) > 1 else 0.0
    return f"{runs.mean():.1f} +- {std:.1f}" if passed else f"{runs.mean():+.3f} +- {std:.3f}"


def run_seed(store: Any, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    from curate.teachability.inputs import load_seeds

    out = Path(args.out) / f"seed{seed}"
    sets = arm_sets(store, args.prompts, seed)
    held = load_seeds(store, store.snapshot_id(None), "source LIKE 'heldout/%'", args.heldout)
    settings = grpo_settings(args, seed)
    figures: dict[str, Any] = {"prompts_per_arm": next(iter(sets.values())).height}
    base = heldout_scores("smollm2", held, settings, args.samples, seed)
    figures["base"] = {"heldout_reward": spread(base), "heldout_pass": spread(base, True)}
    print("base", json.dumps(figures["base"]), flush=True)
    runs = [(arm, arm, False) for arm in ARMS] + [("random+dynamic", "random", True)]
    for name, arm, dynamic in runs:
        start = time.perf_counter()
        folder = write_dataset(sets[arm], out / "data" / arm)
        run_dir = out / "runs" / name.replace("+", "_")
        summary = train_arm(folder, run_dir, settings, dynamic)
        after = heldout_scores(str(run_dir), held, settings, args.samples, seed)
        figures[name] = {
            "bands": dict(sets[arm].group_by("band").len().iter_rows()),
            "informative_share": summary["informative_share"],
            "informative_groups": summary["informative_groups"],
            "groups": summary["groups"],
            "generations": summary["generations"],
            "generations_per_informative_group": summary["generations_per_informative_group"],
            "empty_steps": summary["empty_steps"],
            "refill_batches": summary.get("refill_batches", 0),
            "stopped": summary.get("stopped"),
            "heldout_reward_after": spread(after),
            "heldout_pass_after": spread(after, True),
            "wall_s": round(time.perf_counter() - start),
        }
        print(name, json.dumps(figures[name]), flush=True)
    figures["write_back"] = write_back(store, out / "runs" / "random")
    return figures


def write_back(store: Any, run_dir: Path) -> dict[str, Any]:
    """The random arm's rollouts as a difficulty run of its checkpoint; bands side by side."""
    from curate.teachability.rollouts import RolloutBandsConfig, run_rollout_bands
    from curate.teachability.select import latest_difficulty

    counts = run_rollout_bands(store, RolloutBandsConfig(run_dir=str(run_dir)))
    rows = latest_difficulty(store)
    policy = rows.filter(pl.col("model").str.starts_with("grpo-"))
    policy = policy.filter(pl.col("run_id") == policy["run_id"].max())
    weak = rows.filter(~pl.col("model").str.starts_with("grpo-"))
    weak = weak.select("seed_id", pl.col("band").alias("weak_band"))
    moved = policy.join(weak, on="seed_id").group_by("weak_band", "band").len().sort("weak_band")
    return {"counts": counts, "weak_band -> policy_band": moved.rows()}


def print_table(figures: dict[str, Any]) -> None:
    base = figures["base"]
    print(f"prompts per arm: {figures['prompts_per_arm']}; held-out: avg over sampled runs +- std")
    print(f"  base model: reward {base['heldout_reward']}, pass% {base['heldout_pass']}")
    print(
        f"{'arm':15} {'informative groups':>20} {'gen/inf.group':>13} {'empty':>5} "
        f"{'refills':>7} {'held-out reward':>16} {'pass%':>12}  bands"
    )
    for name in (*ARMS, "random+dynamic"):
        f = figures[name]
        per = f["generations_per_informative_group"]
        share = f"{f['informative_groups']}/{f['groups']} ({f['informative_share']:.2f})"
        stop = f"  STOPPED: {f['stopped']}" if f["stopped"] else ""
        print(
            f"{name:15} {share:>20} {'-' if per is None else f'{per:.1f}':>13} "
            f"{f['empty_steps']:>5} {f['refill_batches']:>7} {f['heldout_reward_after']:>16} "
            f"{f['heldout_pass_after']:>12}  {f['bands']}{stop}"
        )
    print("write-back:", figures["write_back"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--store", default="grpo-signal")
    parser.add_argument("--run", action="store_true", help="run the recipe first")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--prompts", type=int, default=6, help="prompts per arm (at most)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--group", type=int, default=4)
    parser.add_argument("--prompts-per-step", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--heldout", type=int, default=8)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--out", default="runs/grpo_signal")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.run:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "curate.cli", "run", str(RECIPE)], check=True)
        print(f"recipe: {time.perf_counter() - start:.0f} s", flush=True)
    from store import Store

    store = Store.open(args.store, create=False)
    try:
        for seed in args.seeds:
            start = time.perf_counter()
            figures = run_seed(store, args, seed)
            (Path(args.out) / f"figures_seed{seed}.json").write_text(json.dumps(figures, indent=1))
            print(f"\n== seed {seed} ({time.perf_counter() - start:.0f} s)")
            print_table(figures)
    finally:
        store.close()


if __name__ == "__main__":
    main()
