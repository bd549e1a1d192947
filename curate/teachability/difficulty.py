"""`teachable difficulty`: weak-model attempts, pass rates and bands, with adaptive sampling.

Each weak model answers each seed up to K times; the pass rate against the proxy answer gives a
band: too_hard (< teachable_min), too_easy (> teachable_max), else teachable. A seed whose
answer can be guessed (a choice, yes/no, one of two listed numbers: quality.answers.chance_rate)
is banded on its chance-corrected pass rate and leaves too_hard only when the samples show skill
above chance at `confidence` (adaptive.py), so a model that guesses yields no teachable seeds.
With `adaptive`, seeds are sampled in rounds and a seed stops as soon as its fixed-K band is
decided at `confidence` (adaptive.py), so clear-cut seeds cost a fraction of K calls. The run
records calls spent and the fixed-K cost.

Every finished sample is in the request cache, so a crash loses nothing and a re-run re-sends
only what never finished; the writer lock is taken only for the final write.

Usage:
    run_difficulty(store, DifficultyConfig(weak=["smollm2"], samples=8))
    teachable difficulty --weak smollm2 --weak gemma3 --samples 8
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
import polars as pl
import xxhash
from pydantic import Field, model_validator

from curate.teachability import adaptive
from curate.teachability.adaptive import PSEUDO_SEEDS, Bounds
from curate.teachability.attempts import (
    DRAW_SCHEMA,
    Prompting,
    Sampler,
    SeedPromptConfig,
    fewshot_prefixes,
    grade,
    prompting,
    resolve_style,
)
from curate.teachability.declare import DIFFICULTY_STAGE
from curate.teachability.inputs import load_seeds, with_proxy
from quality.answers.chance import chance_rates
from quality.programs import CODE, ProgramChecker
from store import Run, Store
from store.tables import ATTEMPTS, DIFFICULTY
from synth.backends import Backend
from synth.models import ModelConfig, resolve_model_config
from synth.session import model_session
from synth.sizes import MAX_SAMPLES, check_size


def _default_weak() -> list[str | ModelConfig]:
    return ["smollm2"]


class DifficultyConfig(SeedPromptConfig):
    weak: list[str | ModelConfig] = Field(default_factory=_default_weak)
    """Weak models: config YAMLs, embedded names (smollm2, gemma3) or inline configs."""
    samples: int = Field(default=8, ge=1, le=MAX_SAMPLES)
    """K: samples per seed (the fixed-K cost)."""
    teachable_min: float = Field(default=0.1, ge=0, le=1)
    """Pass rate below this: too_hard."""
    teachable_max: float = Field(default=0.8, ge=0, le=1)
    """Pass rate above this: too_easy."""
    adaptive: bool = True
    """Stop sampling a seed once its band is decided."""
    confidence: float = Field(default=0.95, gt=0.5, le=1)
    """Stop a seed once its fixed-K band has at least this probability; a guessable seed
    leaves too_hard only once skill above teachable_min has at least this probability."""
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
    max_tokens: int = Field(default=64, ge=1)
    """Max tokens per attempt."""
    code_max_tokens: int = Field(default=256, ge=1)
    """Max tokens per attempt at a code seed (a program is longer than an answer)."""
    chance_correction: bool = True
    """Band guessable seeds (choice, yes/no, listed alternatives) on their chance-corrected
    pass rate; off: every seed on its raw pass rate, guesses included."""

    @model_validator(mode="after")
    def _bounds(self) -> DifficultyConfig:
        if self.teachable_min > self.teachable_max:
            raise ValueError("teachable_min must be <= teachable_max")
        return self

    def bounds(self) -> Bounds:  # not adaptive.Bounds: the field `adaptive` hides the module here
        return Bounds(self.teachable_min, self.teachable_max)


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
    tests: list[str | None] | None = None,
    checker: ProgramChecker | None = None,
) -> Estimate:
    """Sample every item (adaptively or K times) and decide its band. With `tests` (and a
    `checker`), the items are code: attempts are judged by execution, chance rate 0."""
    n_items = len(problems)
    guessable = config.chance_correction and tests is None
    chance = np.array(chance_rates(problems, answers, types) if guessable else [0.0] * n_items)
    state = adaptive.Sequential(
        n_items,
        config.samples,
        config.bounds(),
        config.confidence,
        config.min_samples,
        config.adaptive,
        config.prior_seeds,
        chance,
    )
    frames: list[pl.DataFrame] = []
    for target in state.rounds(config.min_samples, config.step):
        pending = np.flatnonzero(~state.done)
        pairs = [(int(i), j) for i in pending for j in range(int(state.samples[i]), target)]
        if not pairs:
            break
        batch = grade(sampler.draw(problems, shots, pairs), answers, types, tests, checker)
        frames.append(batch)
        state.add(batch["item"].to_numpy(), batch["correct"].to_numpy())
    state.finish()  # seeds whose samples failed for good: decided on what they have
    rate = np.divide(state.correct, np.maximum(state.samples, 1))
    seeds = pl.DataFrame(
        {
            "item": np.arange(n_items),
            "samples": state.samples,
            "correct": state.correct,
            "chance": chance,
            "skill": adaptive.skill_of(rate, chance),
            "band": state.band.astype(str),
            "band_confidence": state.band_confidence,
            "decided_early": state.samples < config.samples,
        }
    ).filter(pl.col("samples") > 0)
    drawn = state.samples
    k = config.samples
    stats = {"calls": int(drawn.sum()), "fixed_k_calls": k * n_items}
    empty = pl.DataFrame(schema=DRAW_SCHEMA)
    attempts = pl.concat(frames) if frames else grade(empty, answers, types, tests, checker)
    return Estimate(attempts, seeds, stats)


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
            "chance_correction",
        }
    )
    return xxhash.xxh3_64_hexdigest(
        repr([model.config_hash(), prompt.key(), sorted(rule.items())]).encode()
    )


def run_difficulty(
    store: Store, config: DifficultyConfig, *, backends: list[Backend] | None = None
) -> dict[str, int]:
    """`backends` replace the configured weak models (tests inject faults with them). Code
    seeds (answer_type `code`) are prompted for a program and judged by their tests."""
    with store.run(DIFFICULTY_STAGE, config) as run:
        pool = load_seeds(store, run.at)
        seeds = with_proxy(store, run.at, load_seeds(store, run.at, config.where, config.limit))
        check_size("--samples", config.samples, seeds.height)
        code = pl.col("answer_type") == CODE
        math = seeds.filter(~code.fill_null(False))
        programs = seeds.filter(code.fill_null(False))
        verifiable = math.filter(pl.col("proxy_answer").is_not_null())
        testable = programs.filter(pl.col("tests").is_not_null())
        models = (
            [b.config for b in backends]
            if backends
            else [resolve_model_config(w) for w in config.weak]
        )
        unverifiable = seeds.height - verifiable.height - testable.height
        counts = Counter({"seeds": seeds.height, "unverifiable": unverifiable})
        # code seeds without tests (rewrite writes them): left out, never banded as verified
        counts["code_untested"] = programs.height - testable.height
        with contextlib.ExitStack() as stack:
            checker = None
            if testable.height:
                checker = stack.enter_context(ProgramChecker.for_store(store))
            for index, model in enumerate(models):
                backend = backends[index] if backends else model
                for items, code_items in ((verifiable, False), (testable, True)):
                    if items.height:
                        _band_model(
                            run, store, config, model, backend, items, pool,
                            checker if code_items else None, counts,
                        )  # fmt: skip
        return run.count_all(counts)


def _band_model(
    run: Run,
    store: Store,
    config: DifficultyConfig,
    model: ModelConfig,
    backend: ModelConfig | Backend,
    seeds: pl.DataFrame,
    pool: pl.DataFrame,
    checker: ProgramChecker | None,
    counts: Counter[str],
) -> None:
    """Attempts and bands of one weak model on math seeds, or (with a checker) code seeds."""
    if checker is not None:  # a program needs an instruction, not a few-shot answer line
        prompt = prompting("chat", config.temperature, config.code_max_tokens, config.seed,
                           template_file="attempt_code.txt")  # fmt: skip
        style = "chat"
    else:
        style = resolve_style(config.prompt_style, model)
        prompt = prompting(style, config.temperature, config.max_tokens, config.seed)
    setting = setting_key(model, prompt, config)
    where = {"model": model.config_hash(), "setting": setting}
    todo = run.todo(seeds, DIFFICULTY, on="seed_id", where=where)
    counts["done_before"] += seeds.height - todo.height
    if todo.height == 0:
        return
    with model_session(store, backend, max_failed_share=config.max_failed_share) as models_:
        shots = fewshot_prefixes(todo, pool, config.shots) if style == "completion" else None
        result = estimate(
            Sampler(models_, prompt),
            todo["problem"].to_list(),
            shots or [None] * todo.height,
            todo["proxy_answer"].to_list(),
            todo["proxy_type"].to_list(),
            config,
            todo["tests"].to_list() if checker is not None else None,
            checker,
        )
        counts.update({**result.stats, **models_.stats})
    ids = todo["seed_id"]
    tag = {"model": model.config_hash(), "model_name": model.model}
    run.insert(ATTEMPTS, _attempt_rows(result.attempts, ids, tag, prompt.key()))
    bands = _difficulty_rows(result.seeds, ids, tag, setting, config.samples)
    run.insert(DIFFICULTY, bands)
    counts.update(dict(bands.group_by("band").len().iter_rows()))
    counts["decided_early"] += int(bands["decided_early"].sum())
    counts["guessable"] += int((bands["chance"] > 0).sum())
    if checker is not None:
        counts["code_seeds"] += todo.height


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
