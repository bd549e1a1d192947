"""`teachable proxy`: a proxy ground-truth answer per seed.

A seed's reference answer when it has one (method `reference`); otherwise the majority answer of
K samples from a strong model under the checker's equivalence (method `majority`, with its
agreement as confidence), or `unverifiable` with the reason (see vote.py).

Code seeds never go to that vote: a reference program with tests is `reference`; one without
tests is `untested` (reason no_tests: never run, so not verified); tests without a reference are
`tests`; with neither, the CodeT consensus of `code_samples` model programs on the inputs of the
model's tests (method `codet`, its support as agreement; see codet.py), else `unverifiable`.

Usage:
    run_proxy(store, ProxyConfig(model="models/o3-mini.yaml", samples=5))
    teachable proxy --model models/o3-mini.yaml --samples 5
"""

from __future__ import annotations

import polars as pl
import xxhash
from pydantic import Field

from curate.teachability.attempts import (
    Sampler,
    SeedPromptConfig,
    fewshot_prefixes,
    prompting,
    resolve_style,
)
from curate.teachability.declare import PROXY_STAGE
from curate.teachability.inputs import load_seeds
from curate.teachability.vote import majority_vote
from quality.answers import extract_answer
from quality.programs import CODE
from store import Store
from store.tables import PROXY_ANSWERS
from synth.backends import Backend
from synth.models import ModelConfig, resolve_model_config
from synth.session import ModelSession, model_session
from synth.sizes import MAX_SAMPLES, check_size


class ProxyConfig(SeedPromptConfig):
    model: str | ModelConfig | None = None
    """Strong model: config YAML, embedded name, inline config; None is SmolLM2."""
    samples: int = Field(default=5, ge=1, le=MAX_SAMPLES)
    """Samples per seed without a reference answer."""
    min_agreement: float = Field(default=0.5, gt=0, le=1)
    """Below this share of samples in the winning answer: unverifiable."""
    max_tokens: int = Field(default=256, ge=1)
    """Max tokens per sample."""
    code_samples: int = Field(default=5, ge=1, le=MAX_SAMPLES)
    """Code seeds with neither tests nor a reference: programs drawn for the CodeT consensus."""
    code_tests: int = Field(default=6, ge=1, le=50)
    """Code seeds with neither: tests asked of the model, whose inputs the programs run on."""
    code_max_tokens: int = Field(default=512, ge=1)
    """Max tokens per program or test reply (code seeds)."""


def proxy_key(model: ModelConfig, prompt_key: str, config: ProxyConfig) -> str:
    parts = [model.config_hash(), prompt_key, config.samples, config.min_agreement]
    return xxhash.xxh3_64_hexdigest(repr(parts).encode())


def run_proxy(
    store: Store, config: ProxyConfig, *, backend: Backend | None = None
) -> dict[str, int]:
    """`backend` replaces the configured model (tests plant votes with it)."""
    with store.run(PROXY_STAGE, config) as run:
        seeds = load_seeds(store, run.at, config.where, config.limit)
        has_ref = seeds["answer"].is_not_null() & (seeds["answer"].str.strip_chars() != "")
        code = (seeds["answer_type"] == CODE).fill_null(False)
        untested = code & seeds["tests"].is_null()
        reference, open_seeds = seeds.filter(has_ref & ~untested), seeds.filter(~has_ref & ~code)
        programs = _code_rows(seeds.filter(~has_ref & code & ~untested))
        unrun = _untested_rows(seeds.filter(has_ref & untested))
        check_size("--samples", config.samples, open_seeds.height)
        check_size("--code-samples", config.code_samples, int((~has_ref & untested).sum()))
        votes = pl.DataFrame(schema={"seed_id": pl.String, "method": pl.String})
        coded = pl.DataFrame(schema={"seed_id": pl.String, "method": pl.String})
        model = backend.config if backend is not None else resolve_model_config(config.model)
        style = resolve_style(config.prompt_style, model)
        prompt = prompting(
            style, config.temperature, config.max_tokens, config.seed, "solve_chat.txt"
        )
        key = proxy_key(model, prompt.key(), config)
        todo = run.todo(open_seeds, PROXY_ANSWERS, on="seed_id", where={"proxy": key})
        code_key = _codet_key(key, config)
        neither = seeds.filter(~has_ref & untested)
        code_todo = run.todo(neither, PROXY_ANSWERS, on="seed_id", where={"proxy": code_key})
        done = open_seeds.height - todo.height + neither.height - code_todo.height
        counts = {"seeds": seeds.height, "done_before": done, "calls": 0, "cached": 0}
        if todo.height or code_todo.height:
            with model_session(
                store, backend or model, max_failed_share=config.max_failed_share
            ) as models:
                if todo.height:
                    shots = (
                        fewshot_prefixes(todo, seeds, config.shots)
                        if style == "completion"
                        else None
                    )
                    votes = _vote(Sampler(models, prompt), todo, shots, config)
                if code_todo.height:
                    coded = _codet(store, models, code_todo, config)
            if todo.height:
                votes = votes.with_columns(
                    proxy=pl.lit(key), model=pl.lit(model.model), answer_type=_types(todo, votes)
                )
            coded = coded.with_columns(proxy=pl.lit(code_key), model=pl.lit(model.model))
            counts |= {"calls": models.stats["sent"], "cached": models.stats["cached"]}
        run.insert(PROXY_ANSWERS, _reference_rows(reference), count="reference")
        run.insert(PROXY_ANSWERS, votes, count="voted")
        run.insert(PROXY_ANSWERS, programs, count="programs")
        run.insert(PROXY_ANSWERS, unrun, count="untested_reference")
        run.insert(PROXY_ANSWERS, coded, count="codet_seeds")
        unverifiable = sum(
            int((f["method"] == "unverifiable").sum()) for f in (votes, programs, coded)
        )
        return run.count_all(
            {
                **counts,
                "majority": int((votes["method"] == "majority").sum()),
                "unverifiable": unverifiable,
                "tests_only": int((programs["method"] == "tests").sum()),
                "codet": int((coded["method"] == "codet").sum()),
            }
        )


def _codet_key(key: str, config: ProxyConfig) -> str:
    parts = [key, "codet", config.code_samples, config.code_tests, config.code_max_tokens]
    return xxhash.xxh3_64_hexdigest(repr(parts).encode())


def _codet(
    store: Store, models: ModelSession, todo: pl.DataFrame, config: ProxyConfig
) -> pl.DataFrame:
    """CodeT consensus rows for code seeds with neither tests nor a reference (codet.py)."""
    from curate.teachability.codet import codet_rows
    from quality.programs import store_executor

    with store_executor(store) as executor:
        return codet_rows(
            models,
            executor,
            todo,
            samples=config.code_samples,
            tests=config.code_tests,
            temperature=config.temperature,
            max_tokens=config.code_max_tokens,
            seed=config.seed,
            min_agreement=config.min_agreement,
        )


def _vote(
    sampler: Sampler,
    todo: pl.DataFrame,
    shots: list[str | None] | None,
    config: ProxyConfig,
) -> pl.DataFrame:
    """K samples per seed through the request cache, extracted and put to the vote."""
    drawn = sampler.draw(
        todo["problem"].to_list(),
        shots or [None] * todo.height,
        [(i, j) for i in range(todo.height) for j in range(config.samples)],
    )
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


def _given_rows(
    seeds: pl.DataFrame,
    *,
    proxy: str,
    method: str,
    agreement: float | None,
    votes: int,
    reason: str | None,
    answer: bool = True,
) -> pl.DataFrame:
    """Proxy rows decided without sampling a model (the PROXY_ANSWERS columns)."""
    return seeds.select(
        "seed_id",
        pl.lit(proxy).alias("proxy"),
        pl.lit(method).alias("method"),
        pl.col("answer") if answer else pl.lit(None, dtype=pl.String).alias("answer"),
        "answer_type",
        pl.lit(agreement, dtype=pl.Float64).alias("agreement"),
        pl.lit(votes).alias("votes"),
        pl.lit(0).alias("samples"),
        pl.lit(reason, dtype=pl.String).alias("reason"),
        pl.lit(None, dtype=pl.String).alias("model"),
    )


def _reference_rows(reference: pl.DataFrame) -> pl.DataFrame:
    return _given_rows(
        reference, proxy="reference", method="reference", agreement=1.0, votes=1, reason=None
    )


def _untested_rows(code: pl.DataFrame) -> pl.DataFrame:
    """Code seeds whose reference was never run against tests (they have none): the program is
    kept as the proxy but marked `untested`, so no stage takes it as verified."""
    return _given_rows(
        code, proxy="reference", method="untested", agreement=None, votes=0, reason="no_tests"
    )


def _code_rows(code: pl.DataFrame) -> pl.DataFrame:
    """Code seeds with tests and no reference program: their tests alone are the ground truth
    (method `tests`). (Seeds with neither go to the CodeT consensus, `_codet`.)"""
    return _given_rows(
        code, proxy="tests", method="tests", agreement=1.0, votes=0, reason=None, answer=False
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
