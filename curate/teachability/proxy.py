"""`teachable proxy`: a proxy ground-truth answer per seed.

A seed's reference answer when it has one (method `reference`); otherwise the majority answer of
K samples from a strong model under the checker's equivalence (method `majority`, with its
agreement as confidence), or `unverifiable` with the reason (see vote.py).

Usage:
    run_proxy(store, ProxyConfig(model="models/o3-mini.yaml", samples=5))
    teachable proxy --model models/o3-mini.yaml --samples 5
"""

from __future__ import annotations

import polars as pl
import xxhash
from pydantic import BaseModel, ConfigDict, Field

from curate.teachability.attempts import (
    PromptStyle,
    Sampler,
    fewshot_prefixes,
    model_from,
    prompting,
    resolve_style,
)
from curate.teachability.inputs import load_seeds
from curate.teachability.tables import PROXY_ANSWERS
from curate.teachability.vote import majority_vote
from quality.answers import extract_answer
from store import Store
from synth.backends import Backend, get_backend
from synth.cache import RequestCache
from synth.models import ModelConfig


class ProxyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | ModelConfig | None = None
    """Strong model: config YAML, embedded name, inline config; None is SmolLM2."""
    samples: int = Field(default=5, ge=1)
    min_agreement: float = Field(default=0.5, gt=0, le=1)
    temperature: float = Field(default=0.7, ge=0)
    max_tokens: int = Field(default=256, ge=1)
    seed: int = 0
    prompt_style: PromptStyle = "auto"
    shots: int = Field(default=4, ge=0)
    where: str | None = None
    """SQL condition on seeds, e.g. "source = 'gsm8k'"."""
    limit: int | None = Field(default=None, ge=1)
    at: int | None = None
    progress: bool = False


def proxy_key(model: ModelConfig, prompt_key: str, config: ProxyConfig) -> str:
    parts = [model.config_hash(), prompt_key, config.samples, config.min_agreement]
    return xxhash.xxh3_64_hexdigest(repr(parts).encode())


def run_proxy(
    store: Store, config: ProxyConfig, *, backend: Backend | None = None
) -> dict[str, int]:
    """`backend` replaces the configured model (tests plant votes with it)."""
    at = config.at if config.at is not None else store.snapshot()
    model = backend.config if backend is not None else model_from(config.model)
    style = resolve_style(config.prompt_style, model)
    prompt = prompting(style, config.temperature, config.max_tokens, config.seed, "solve_chat.txt")
    key = proxy_key(model, prompt.key(), config)
    seeds = load_seeds(store, at, config.where, config.limit)
    has_ref = seeds["answer"].is_not_null() & (seeds["answer"].str.strip_chars() != "")
    reference, open_seeds = seeds.filter(has_ref), seeds.filter(~has_ref)
    todo = _without_rows(store, open_seeds, key)
    votes = pl.DataFrame(schema={"seed_id": pl.String, "method": pl.String})
    stats: dict[str, int] = {}
    if todo.height:
        sampler = Sampler(backend or get_backend(model), None, prompt, config.progress)
        shots = fewshot_prefixes(todo, seeds, config.shots) if style == "completion" else None
        votes = _vote(store, sampler, todo, shots, config).with_columns(
            proxy=pl.lit(key), model=pl.lit(model.model)
        )
        votes = votes.with_columns(answer_type=_types(todo, votes))
        stats = sampler.stats
    with store.run("proxy", config.model_copy(update={"at": at})) as run:
        n_ref = run.insert(
            PROXY_ANSWERS,
            _reference_rows(reference).with_columns(run_id=pl.lit(run.id)),
            unique_on=["seed_id", "proxy"],
        )
        n_vote = 0
        if votes.height:
            votes = votes.with_columns(run_id=pl.lit(run.id))
            n_vote = run.insert(PROXY_ANSWERS, votes, unique_on=["seed_id", "proxy"])
        counts = {
            "seeds": seeds.height,
            "reference": n_ref,
            "voted": n_vote,
            "majority": int((votes["method"] == "majority").sum()),
            "unverifiable": int((votes["method"] == "unverifiable").sum()),
            "done_before": open_seeds.height - todo.height,
            "calls": stats.get("sent", 0),
            "cached": stats.get("cached", 0),
        }
        for name, value in counts.items():
            run.count(name, value)
    return counts


def _vote(
    store: Store,
    sampler: Sampler,
    todo: pl.DataFrame,
    shots: list[str | None] | None,
    config: ProxyConfig,
) -> pl.DataFrame:
    """K samples per seed through the request cache, extracted and put to the vote."""
    sampler.cache = RequestCache.for_store(store)
    try:
        drawn = sampler.draw(
            todo["problem"].to_list(),
            shots or [None] * todo.height,
            [(i, j) for i in range(todo.height) for j in range(config.samples)],
        )
    finally:
        sampler.cache.close()
    types = todo["answer_type"].to_list()
    answers = [
        extract_answer(text or "", types[i])
        for i, text in drawn.select("item", "response").iter_rows()
    ]
    samples = drawn.select(
        todo["seed_id"].gather(drawn["item"]).alias("seed_id"),
        "sample",
        pl.Series("answer", answers, dtype=pl.String),
        pl.Series("answer_type", [types[i] for i in drawn["item"]], dtype=pl.String),
    )
    return majority_vote(samples, config.min_agreement)


def _reference_rows(reference: pl.DataFrame) -> pl.DataFrame:
    return reference.select(
        "seed_id",
        pl.lit("reference").alias("proxy"),
        pl.lit("reference").alias("method"),
        "answer",
        "answer_type",
        pl.lit(1.0).alias("agreement"),
        pl.lit(1).alias("votes"),
        pl.lit(0).alias("samples"),
        pl.lit(None, dtype=pl.String).alias("reason"),
        pl.lit(None, dtype=pl.String).alias("model"),
    )


def _types(todo: pl.DataFrame, votes: pl.DataFrame) -> pl.Series:
    """The seed's answer type, else the one the checker infers from the winning answer."""
    from quality.answers import infer_answer_type

    known = dict(zip(todo["seed_id"], todo["answer_type"], strict=True))
    return pl.Series(
        "answer_type",
        [
            known.get(sid) or (infer_answer_type(ans) if ans else None)
            for sid, ans in votes.select("seed_id", "answer").iter_rows()
        ],
        dtype=pl.String,
    )


def _without_rows(store: Store, seeds: pl.DataFrame, key: str) -> pl.DataFrame:
    if seeds.height == 0 or not store.has_table(PROXY_ANSWERS.name):
        return seeds
    done = store.sql(f"SELECT seed_id FROM {store.ref(PROXY_ANSWERS.name)} WHERE proxy = ?", [key])[
        "seed_id"
    ]
    return seeds.filter(~pl.col("seed_id").is_in(done.implode()))
