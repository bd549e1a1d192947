"""Chance is not teachability: a model that guesses yields no teachable seeds; one with skill
above chance still does. Simulated draws for the rule, planted answers for the stage (store,
cache, checker and chance rates real)."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from planted import Planted as PlantedBackend

from curate.synthetic.generate import SynthConfig, run_synth
from curate.teachability import adaptive
from curate.teachability.difficulty import DifficultyConfig, run_difficulty
from store import Store, TableSpec
from store.tables import DIFFICULTY


def _bands(p: float, chance: float, k: int, adaptive_: bool, n: int = 100) -> Counter[str]:
    draws = np.random.default_rng(0).random((n, k)) < p
    state = adaptive.Sequential(
        n, k, adaptive.Bounds(0.1, 0.8), 0.95, 3, adaptive_, chance=np.full(n, chance)
    )
    for target in state.rounds(3, 1):
        pairs = [
            (i, j) for i in np.flatnonzero(~state.done) for j in range(state.samples[i], target)
        ]
        state.add(np.array([i for i, _ in pairs]), np.array([draws[i, j] for i, j in pairs]))
    assert state.done.all()
    return Counter(state.band.tolist())


@pytest.mark.parametrize("chance", [0.5, 0.25])
@pytest.mark.parametrize("k", [4, 8])
@pytest.mark.parametrize("adaptive_", [True, False])
def test_guessing_is_never_teachable_skill_above_chance_is(
    chance: float, k: int, adaptive_: bool
) -> None:
    """Uniform guessing (p = c) lands every seed in too_hard, at any K; a model that knows the
    answer 60% of the time and guesses otherwise (p = c + (1 - c) 0.6) gets teachable seeds,
    most of them once K = 8."""
    assert _bands(chance, chance, k, adaptive_) == {"too_hard": 100}
    skilled = _bands(chance + (1 - chance) * 0.6, chance, k, adaptive_)
    assert skilled["teachable"] >= (50 if k == 8 else 25)
    # the raw-rate rule (chance ignored) calls a quarter or more of the guessed seeds teachable
    raw = _bands(chance, 0.0, k, adaptive_)
    assert raw["teachable"] >= 25


def test_open_answers_keep_the_fixed_k_band() -> None:
    """chance 0 is the rule as before: the band of the observed K-sample pass rate."""
    bounds = adaptive.Bounds(0.1, 0.8)
    prior = adaptive.fit_prior(np.full(50, 8), np.zeros(50, dtype=int))
    assert adaptive.final_band_probs(8, 1, 8, prior, bounds) == (0.0, 1.0, 0.0)
    assert adaptive.final_band_probs(8, 1, 8, prior, bounds, 0.5)[2] > 0.9


def Planted(skill: float) -> PlantedBackend:  # noqa: N802
    """Picks one of the two numbers of a `compare` problem: right with probability `skill`,
    else a fair coin between the two (so right c + (1 - c) skill of the time, c = 1/2)."""

    def reply(text: str, seed: int) -> str:
        a, b = (int(n) for n in re.findall(r"(\d+) or (\d+)\?", text)[-1])
        draw = random.Random(f"{text}/{seed}")
        pick = max(a, b) if draw.random() < skill else draw.choice((a, b))
        return f"Answer: {pick}"

    return PlantedBackend(reply, model=f"planted-{skill}")


def _difficulty(store: Store, skill: float, **config: object) -> pl.DataFrame:
    backend = Planted(skill)
    run_difficulty(store, DifficultyConfig(samples=8, **config), backends=[backend])
    last = store.runs().filter(pl.col("stage") == "difficulty")["run_id"][-1]
    return store.table("difficulty").filter(pl.col("run_id") == last)


def test_difficulty_stage_on_compare_seeds(store: Store) -> None:
    run_synth(store, SynthConfig(count=60, families=["compare"]))
    guesser = _difficulty(store, 0.0)
    assert guesser.height == 60 and (guesser["chance"] == 0.5).all()
    assert set(guesser["band"]) == {"too_hard"}
    assert guesser["skill"].max() <= 1.0 and guesser["skill"].min() == 0.0
    skilled = _difficulty(store, 0.6)
    assert skilled.filter(pl.col("band") == "teachable").height >= 20
    counts = store.runs().filter(pl.col("stage") == "difficulty")["counts"].to_list()[-1]
    assert '"guessable": 60' in counts
    # with the correction off, the same guesses make teachable seeds (the finding)
    raw = _difficulty(store, 0.0, chance_correction=False)
    assert (raw["chance"] == 0.0).all() and raw.filter(pl.col("band") == "teachable").height > 0


def test_difficulty_table_v1_is_upgraded(store: Store) -> None:
    """A store written before chance was accounted for gains the two columns (NULL on its old
    rows) the first time the stage writes."""
    v1 = TableSpec(
        "difficulty", {k: v for k, v in DIFFICULTY.columns.items() if k not in ("chance", "skill")}
    )
    old = {k: [None] for k in v1.columns if k != "run_id"} | {
        "seed_id": ["old"],
        "band": ["too_hard"],
    }
    with store.run("difficulty", DifficultyConfig()) as run:
        run.insert(v1, pl.DataFrame(old, schema={k: pl.String for k in old}).cast(_polars(v1)))
    run_synth(store, SynthConfig(count=10, families=["compare"]))
    _difficulty(store, 0.0)
    rows = store.table("difficulty")
    assert rows.filter(pl.col("seed_id") == "old")["chance"].to_list() == [None]
    assert rows.filter(pl.col("seed_id") != "old")["chance"].drop_nulls().len() == 10


def _polars(spec: TableSpec) -> dict[str, pl.DataType]:
    types: dict[str, Callable[[], pl.DataType]] = {
        "VARCHAR": pl.String, "INTEGER": pl.Int32, "DOUBLE": pl.Float64, "BOOLEAN": pl.Boolean,
    }  # fmt: skip
    return {k: types[v]() for k, v in spec.columns.items() if k != "run_id"}
