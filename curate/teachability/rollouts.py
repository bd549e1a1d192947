"""GRPO rollouts as difficulty estimates, and the export-time difficulty a GRPO run records.

`run_rollout_bands` reads a GRPO run folder's `rollouts.jsonl` (train/signal.py) and writes a
`difficulty` run whose weak model is the policy checkpoint: one row per trained seed, from the
seed's latest rolled-out group (`num_generations` samples, all drawn: `band_confidence` 1.0),
banded by the difficulty stage's own rule (adaptive.Sequential with fixed K, so a guessable
seed is banded on its skill, as there). Zero model calls: the rollouts were paid for by
training. Lineage: `model_name` is `<run folder>@step<N>`, `model` a hash of the run folder,
its run config and N; the run's config records the folder and step. `select --model` and a
mixture's `difficulty_model` take that name.

`export_difficulty` is the other direction: the band and pass rate each exported seed had in
the store when the export was made (its mixture's snapshot and difficulty runs, export.json),
the file `teachable train grpo` hands the trainer as `prompt_difficulty`.

    teachable train rollouts runs/grpo --store teachable-experiment
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import xxhash
from pydantic import Field

from curate.teachability import adaptive
from curate.teachability.declare import DIFFICULTY_STAGE
from curate.teachability.difficulty import DifficultyConfig
from curate.teachability.inputs import load_seeds, with_proxy
from quality.answers.chance import chance_rates
from store import StageConfig, Store
from store.tables import DIFFICULTY

ROLLOUTS_FILE = "rollouts.jsonl"  # train.signal.ROLLOUTS_FILE (train/ is not imported here)
EXPORT_MANIFEST = "export.json"
_DEFAULTS = DifficultyConfig.model_fields


class RolloutBandsConfig(StageConfig):
    run_dir: str
    """GRPO run folder holding rollouts.jsonl."""
    step: int | None = Field(default=None, ge=1)
    """Use rollouts up to this step (the checkpoint); default the run's last step."""
    teachable_min: float = Field(default=_DEFAULTS["teachable_min"].default, ge=0, le=1)
    """Pass rate below this: too_hard (as in `difficulty`)."""
    teachable_max: float = Field(default=_DEFAULTS["teachable_max"].default, ge=0, le=1)
    """Pass rate above this: too_easy (as in `difficulty`)."""
    confidence: float = Field(default=_DEFAULTS["confidence"].default, gt=0.5, le=1)
    """For guessable seeds: skill above teachable_min needs this probability."""
    chance_correction: bool = True
    """Band guessable seeds on their chance-corrected pass rate, as `difficulty` does."""


def read_rollouts(run_dir: Path, step: int | None) -> pl.DataFrame:
    path = run_dir / ROLLOUTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"no {ROLLOUTS_FILE} in {run_dir} (is it a GRPO run folder?)")
    frame = pl.read_ndjson(path, infer_schema_length=None)
    if frame.height == 0:
        raise ValueError(f"{path} holds no rollouts")
    if step is not None:
        frame = frame.filter(pl.col("step") <= step)
        if frame.height == 0:
            raise ValueError(f"{path} has no rollouts at or before step {step}")
    return frame


def latest_groups(rollouts: pl.DataFrame) -> pl.DataFrame:
    """Per seed, its latest group: seed_id, step, samples, correct."""
    return (
        rollouts.filter(pl.col("seed_id").is_not_null())
        .sort("step", "prompt_index")
        .group_by("seed_id")
        .agg(pl.col("step").last(), pl.col("samples").last(), pl.col("passed").last())
        .rename({"passed": "correct"})
        .sort("seed_id")
    )


def checkpoint_identity(run_dir: Path, step: int) -> tuple[str, str]:
    """(model hash, model name) of the policy at `step` of the run in `run_dir`."""
    config = run_dir / "run_config.yaml"
    settings = config.read_bytes() if config.exists() else b""
    digest = xxhash.xxh3_64_hexdigest(
        str(run_dir.resolve()).encode() + b"|" + settings + f"|{step}".encode()
    )
    return f"grpo-{digest}", f"{run_dir.name}@step{step}"


def band_rows(groups: pl.DataFrame, chance: np.ndarray, config: RolloutBandsConfig) -> pl.DataFrame:
    """The difficulty stage's band rule over fully drawn groups (K = the group size)."""
    k = int(groups["samples"].to_numpy().max())
    n = groups.height
    state = adaptive.Sequential(
        n,
        k,
        adaptive.Bounds(config.teachable_min, config.teachable_max),
        config.confidence,
        min_samples=k,
        adaptive=False,
        chance=chance,
    )
    samples = groups["samples"].to_numpy()
    correct = groups["correct"].to_numpy()
    items = np.repeat(np.arange(n), samples)
    hits = np.concatenate([np.arange(s) < c for s, c in zip(samples, correct, strict=True)])
    state.add(items, hits)
    state.finish()
    rate = correct / np.maximum(samples, 1)
    return groups.select("seed_id", "samples", "correct").with_columns(
        pl.Series("max_samples", [k] * n),
        pl.Series("pass_rate", rate),
        pl.Series("difficulty", 1 - rate),
        pl.Series("band", state.band.astype(str)),
        pl.Series("band_confidence", state.band_confidence),
        pl.lit(False).alias("decided_early"),
        pl.Series("chance", chance),
        pl.Series("skill", adaptive.skill_of(rate, chance)),
    )


def run_rollout_bands(store: Store, config: RolloutBandsConfig) -> dict[str, int]:
    run_dir = Path(config.run_dir)
    rollouts = read_rollouts(run_dir, config.step)
    step = int(rollouts["step"].to_numpy().max())
    model, name = checkpoint_identity(run_dir, step)
    with store.run(DIFFICULTY_STAGE, config) as run:
        groups = latest_groups(rollouts)
        seeds = with_proxy(store, run.at, load_seeds(store, run.at))
        known = groups.join(seeds.select("seed_id", "problem", "proxy_answer", "proxy_type"),
                            on="seed_id", how="inner")  # fmt: skip
        chance = np.array(
            chance_rates(
                known["problem"].to_list(),
                known["proxy_answer"].to_list(),
                known["proxy_type"].to_list(),
            )
            if config.chance_correction
            else [0.0] * known.height
        )
        setting = xxhash.xxh3_64_hexdigest(
            repr(["grpo-rollouts", sorted(config.model_dump(exclude={"at", "run_dir"}).items())])
            .encode()
        )  # fmt: skip
        rows = band_rows(known, chance, config).with_columns(
            pl.lit(model).alias("model"),
            pl.lit(name).alias("model_name"),
            pl.lit(setting).alias("setting"),
        )
        if rows.height:
            run.insert(DIFFICULTY, rows)
        counts = {
            "seeds": rows.height,
            "unknown_seeds": groups.height - known.height,
            "rollout_rows": rollouts.height,
            "step": step,
            "model_calls": 0,
        }
        if rows.height:
            counts.update(dict(rows.group_by("band").len().iter_rows()))
        return run.count_all(counts)


def export_difficulty(store: Store, dataset: str | Path) -> pl.DataFrame:
    """seed_id, band, pass_rate, model_name of the export's seeds as the store had them when
    the export's mixture was built: the rows of the difficulty runs the mixture read, at its
    snapshot (mean pass rate over weak models when there were several)."""
    manifest = Path(dataset) / EXPORT_MANIFEST
    if not manifest.exists():
        raise FileNotFoundError(f"no {EXPORT_MANIFEST} in {dataset} (not a teachable export)")
    meta = json.loads(manifest.read_text())
    meta = meta.get("meta") or {}
    snapshot = meta.get("snapshot_id")
    run_ids = list((meta.get("run_ids") or {}).get(DIFFICULTY.name) or [])
    empty = pl.DataFrame(
        schema={"seed_id": pl.String, "band": pl.String, "pass_rate": pl.Float64,
                "model_name": pl.String}
    )  # fmt: skip
    if snapshot is None or not run_ids or not store.has_table(DIFFICULTY, snapshot):
        return empty
    marks = ", ".join("?" for _ in run_ids)
    rows = store.sql(
        f"SELECT seed_id, band, pass_rate, model_name FROM {store.ref(DIFFICULTY, at=snapshot)} "
        f"WHERE run_id IN ({marks})",
        run_ids,
    )
    return rows.group_by("seed_id").agg(
        pl.col("band").first(), pl.col("pass_rate").mean(), pl.col("model_name").first()
    )
