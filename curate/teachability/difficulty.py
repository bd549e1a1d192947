"""`teachable difficulty`: weak-model attempts, pass rates and bands, with adaptive sampling.

Each weak model answers each seed up to K times; the pass rate against the proxy answer gives a
band: too_hard (< teachable_min), too_easy (> teachable_max), else teachable. With `adaptive`,
seeds are sampled in rounds and a seed stops as soon as its fixed-K band is decided at
`confidence` (adaptive.py), so clear-cut seeds cost a fraction of K calls. The run records calls
spent and the fixed-K cost.

Generation happens before the store run opens (the writer lock is not held for hours); every
finished sample is in the request cache, so a crash loses nothing and a re-run re-sends only
what never finished.

Usage:
    run_difficulty(store, DifficultyConfig(weak=["smollm2"], samples=8))
    teachable difficulty --weak smollm2 --weak gemma3 --samples 8
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import xxhash
from pydantic import BaseModel, ConfigDict, Field, model_validator

from curate.teachability import adaptive
from curate.teachability.adaptive import PSEUDO_SEEDS
from curate.teachability.attempts import (
    Prompting,
    PromptStyle,
    Sampler,
    fewshot_prefixes,
    grade,
    model_from,
    prompting,
    resolve_style,
)
from curate.teachability.inputs import load_seeds, with_proxy
from curate.teachability.tables import ATTEMPTS, DIFFICULTY
from store import Store
from synth.backends import Backend, get_backend
from synth.cache import RequestCache
from synth.models import ModelConfig


class DifficultyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weak: list[str | ModelConfig] = Field(default_factory=lambda: ["smollm2"])
    """Weak models: config YAMLs, embedded names (smollm2, gemma3) or inline configs."""
    samples: int = Field(default=8, ge=1)
    teachable_min: float = Field(default=0.1, ge=0, le=1)
    teachable_max: float = Field(default=0.8, ge=0, le=1)
    adaptive: bool = True
    confidence: float = Field(default=0.95, gt=0.5, le=1)
    """Stop a seed once its fixed-K band has at least this probability."""
    min_samples: int = Field(default=3, ge=1)
    """Samples every seed gets in the first round. Each later round re-reads a seed's prompt
    (an in-process model re-evaluates it), and with K=8 a seed is rarely decided after 2, so 3
    keeps prompt evaluations at about one per seed, as with fixed K (bench/difficulty.py)."""
    step: int = Field(default=1, ge=1)
    """Samples added per round to seeds still undecided (1: decide after every sample; with an
    in-process model a round costs nothing, with an API it is one more batch round trip)."""
    prior_seeds: float = Field(default=PSEUDO_SEEDS, ge=0)
    """Uniform pseudo-seeds in the fitted prior: lower stops sooner on small seed sets, at
    more risk of disagreeing with fixed K."""
    temperature: float = Field(default=0.7, ge=0)
    max_tokens: int = Field(default=64, ge=1)
    seed: int = 0
    prompt_style: PromptStyle = "auto"
    """auto: few-shot completion for base models (gemma3), chat for instruct models."""
    shots: int = Field(default=4, ge=0)
    where: str | None = None
    limit: int | None = Field(default=None, ge=1)
    at: int | None = None
    progress: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> DifficultyConfig:
        if self.teachable_min > self.teachable_max:
            raise ValueError("teachable_min must be <= teachable_max")
        return self

    def bounds(self) -> adaptive.Bounds:
        return adaptive.Bounds(self.teachable_min, self.teachable_max)


@dataclass
class Estimate:
    attempts: pl.DataFrame  # item, sample, response, ..., correct
    seeds: pl.DataFrame  # item, samples, correct, band, band_confidence, decided_early
    stats: dict[str, int]


def estimate(
    sampler: Sampler,
    problems: list[str],
    shots: list[str | None],
    answers: list[str | None],
    types: list[str | None],
    config: DifficultyConfig,
) -> Estimate:
    """Sample every item (adaptively or K times) and decide its band."""
    n_items = len(problems)
    state = adaptive.Sequential(
        n_items,
        config.samples,
        config.bounds(),
        config.confidence,
        config.min_samples,
        config.adaptive,
        config.prior_seeds,
    )
    frames: list[pl.DataFrame] = []
    for target in state.rounds(config.min_samples, config.step):
        pending = np.flatnonzero(~state.done)
        pairs = [(int(i), j) for i in pending for j in range(int(state.samples[i]), target)]
        if not pairs:
            break
        batch = grade(sampler.draw(problems, shots, pairs), answers, types)
        frames.append(batch)
        state.add(batch["item"].to_numpy(), batch["correct"].to_numpy())
    # seeds whose samples failed for good: decide on what they have
    left = ~state.done & (state.samples > 0)
    state.band[left] = adaptive.band_of(state.correct[left], state.samples[left], config.bounds())
    seeds = pl.DataFrame(
        {
            "item": np.arange(n_items),
            "samples": state.samples,
            "correct": state.correct,
            "band": state.band.astype(str),
            "band_confidence": state.band_confidence,
            "decided_early": state.samples < config.samples,
        }
    ).filter(pl.col("samples") > 0)
    drawn = state.samples
    k = config.samples
    stats = {"calls": int(drawn.sum()), "fixed_k_calls": k * n_items}
    attempts = pl.concat(frames) if frames else grade(_empty_draw(), answers, types)
    return Estimate(attempts, seeds, stats)


def _empty_draw() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "item": pl.Int64,
            "sample": pl.Int64,
            "response": pl.String,
            "finish_reason": pl.String,
            "completion_tokens": pl.Int64,
        }
    )


def setting_key(model: ModelConfig, prompt: Prompting, config: DifficultyConfig) -> str:
    rule = config.model_dump(
        include={
            "samples",
            "teachable_min",
            "teachable_max",
            "adaptive",
            "confidence",
            "min_samples",
            "step",
            "shots",
            "prior_seeds",
        }
    )
    return xxhash.xxh3_64_hexdigest(
        repr([model.config_hash(), prompt.key(), sorted(rule.items())]).encode()
    )


def run_difficulty(
    store: Store, config: DifficultyConfig, *, backends: list[Backend] | None = None
) -> dict[str, int]:
    """`backends` replace the configured weak models (tests inject faults with them)."""
    at = config.at if config.at is not None else store.snapshot()
    pool = load_seeds(store, at)
    seeds = with_proxy(store, at, load_seeds(store, at, config.where, config.limit))
    verifiable = seeds.filter(pl.col("proxy_answer").is_not_null())
    models = [b.config for b in backends] if backends else [model_from(w) for w in config.weak]
    attempt_frames, difficulty_frames = [], []
    counts = {"seeds": seeds.height, "unverifiable": seeds.height - verifiable.height}
    for index, model in enumerate(models):
        style = resolve_style(config.prompt_style, model)
        prompt = prompting(style, config.temperature, config.max_tokens, config.seed)
        setting = setting_key(model, prompt, config)
        todo = _without_rows(store, verifiable, model.config_hash(), setting)
        counts["done_before"] = counts.get("done_before", 0) + verifiable.height - todo.height
        if todo.height == 0:
            continue
        backend = backends[index] if backends else get_backend(model)
        cache = RequestCache.for_store(store)
        try:
            sampler = Sampler(backend, cache, prompt, config.progress)
            shots = fewshot_prefixes(todo, pool, config.shots) if style == "completion" else None
            result = estimate(
                sampler,
                todo["problem"].to_list(),
                shots or [None] * todo.height,
                todo["proxy_answer"].to_list(),
                todo["proxy_type"].to_list(),
                config,
            )
        finally:
            cache.close()
        ids = todo["seed_id"]
        tag = {"model": model.config_hash(), "model_name": model.model}
        attempt_frames.append(_attempt_rows(result.attempts, ids, tag, prompt.key()))
        difficulty_frames.append(_difficulty_rows(result.seeds, ids, tag, setting, config.samples))
        for name, value in {**result.stats, **sampler.stats}.items():
            counts[name] = counts.get(name, 0) + value
    return _write(store, config, at, attempt_frames, difficulty_frames, counts)


def _attempt_rows(
    frame: pl.DataFrame, ids: pl.Series, tag: dict[str, str], pkey: str
) -> pl.DataFrame:
    seed_ids = ids.gather(frame["item"])
    keys = [
        f"{sid}|{tag['model']}|{pkey}|{j}" for sid, j in zip(seed_ids, frame["sample"], strict=True)
    ]
    return frame.with_columns(
        seed_ids.alias("seed_id"),
        pl.lit(tag["model"]).alias("model"),
        pl.lit(tag["model_name"]).alias("model_name"),
        pl.Series("attempt_id", [xxhash.xxh3_128_hexdigest(k.encode()) for k in keys]),
    ).drop("item")


def _difficulty_rows(
    frame: pl.DataFrame, ids: pl.Series, tag: dict[str, str], setting: str, k: int
) -> pl.DataFrame:
    return (
        frame.with_columns(
            ids.gather(frame["item"]).alias("seed_id"),
            pl.lit(tag["model"]).alias("model"),
            pl.lit(tag["model_name"]).alias("model_name"),
            pl.lit(setting).alias("setting"),
            pl.lit(k).alias("max_samples"),
            (pl.col("correct") / pl.col("samples")).alias("pass_rate"),
        )
        .with_columns((1 - pl.col("pass_rate")).alias("difficulty"))
        .drop("item")
    )


def _write(
    store: Store,
    config: DifficultyConfig,
    at: int,
    attempt_frames: list[pl.DataFrame],
    difficulty_frames: list[pl.DataFrame],
    counts: dict[str, int],
) -> dict[str, int]:
    with store.run("difficulty", config.model_copy(update={"at": at})) as run:
        for frame in attempt_frames:
            run.insert(
                ATTEMPTS, frame.with_columns(run_id=pl.lit(run.id)), unique_on=["attempt_id"]
            )
        for frame in difficulty_frames:
            run.insert(
                DIFFICULTY,
                frame.with_columns(run_id=pl.lit(run.id)),
                unique_on=["seed_id", "model", "setting"],
            )
            for band, n in frame.group_by("band").len().iter_rows():
                counts[band] = counts.get(band, 0) + n
            counts["decided_early"] = counts.get("decided_early", 0) + int(
                frame["decided_early"].sum()
            )
        for name, value in counts.items():
            run.count(name, value)
    return counts


def _without_rows(store: Store, seeds: pl.DataFrame, model: str, setting: str) -> pl.DataFrame:
    if seeds.height == 0 or not store.has_table(DIFFICULTY.name):
        return seeds
    done = store.sql(
        f"SELECT seed_id FROM {store.ref(DIFFICULTY.name)} WHERE model = ? AND setting = ?",
        [model, setting],
    )["seed_id"]
    return seeds.filter(~pl.col("seed_id").is_in(done.implode()))
