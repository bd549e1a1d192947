""" "The current version" has one definition (Store.latest): select, traces and mix build all
see the second version of a named selection, and only it."""

from __future__ import annotations

import polars as pl

from curate.mixtures.build import MixBuildConfig, run_mix_build
from curate.synthetic.generate import SynthConfig, run_synth
from curate.teachability.select import SelectConfig, read_selection, run_select
from curate.teachability.tables import DIFFICULTY
from store import Store
from synth.models import ModelConfig
from synth.testing.loopback import serve_in_thread
from synth.traces import TracesConfig, run_traces


def _bands(store: Store, teachable: set[str], stage: str) -> None:
    """A difficulty run in which exactly `teachable` seeds are teachable (others too_hard)."""
    seeds = store.table("seeds")["seed_id"]
    band = pl.when(pl.col("seed_id").is_in(list(teachable))).then(pl.lit("teachable"))
    rows = seeds.to_frame().with_columns(
        model=pl.lit("m1"),
        model_name=pl.lit("weak"),
        setting=pl.lit(stage),
        samples=pl.lit(4),
        max_samples=pl.lit(4),
        correct=pl.lit(2),
        pass_rate=pl.lit(0.5),
        band=band.otherwise(pl.lit("too_hard")),
    )
    with store.run(stage) as run:
        run.insert(DIFFICULTY, rows)


def test_select_traces_and_mix_build_see_only_the_second_version(store: Store) -> None:
    run_synth(store, SynthConfig(count=8, seed=3, families=["compare"]))
    seeds = sorted(store.table("seeds")["seed_id"])
    first, second = set(seeds[:3]), set(seeds[3:6])

    _bands(store, first, "difficulty")
    assert run_select(store, SelectConfig(name="edge"))["selected"] == 3
    assert set(read_selection(store, "edge")["seed_id"]) == first
    _bands(store, second, "difficulty")
    assert run_select(store, SelectConfig(name="edge"))["selected"] == 3
    assert set(read_selection(store, "edge")["seed_id"]) == second

    with serve_in_thread() as server:
        teacher = ModelConfig(backend="openai", model="loopback", base_url=server.base_url)
        counts = run_traces(store, TracesConfig(teacher=teacher, selection="edge"))
    assert counts["items"] == 3
    assert set(store.table("traces")["item_id"]) == second

    recipe = {
        "name": "edge-mix",
        "size": 100,
        "parts": [
            {"name": "edge", "selection": "edge", "weight": 1, "verified_only": False},
        ],
    }
    run_mix_build(store, MixBuildConfig(recipe=recipe))
    assert set(store.table("mixture_items")["seed_id"]) == second
