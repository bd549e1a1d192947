""" "The current version" has one definition (Store.latest): select, traces and mix build all
see the second version of a named selection, and only it, even when it is empty."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import polars as pl
import pytest
from loopback import serve_in_thread

from curate.mixtures.build import MixBuildConfig, run_mix_build
from curate.mixtures.inputs import marks
from curate.seeds.ingest import IngestConfig, run_ingest
from curate.synthetic.generate import SynthConfig, run_synth
from curate.teachability.select import SelectConfig, read_selection, run_select
from quality.dedup import DedupConfig, run_dedup
from quality.filters import FilterConfig, run_filter
from store import Store
from store.tables import DIFFICULTY, MIXTURE_ITEMS, NEAR_DUPS, VERDICTS
from synth.models import ModelConfig
from synth.traces import TracesConfig, run_traces


def _bands(store: Store, teachable: set[str], stage: str) -> None:
    """A difficulty run in which exactly `teachable` seeds are teachable (others too_hard); a
    setting of its own, so its rows are new under DIFFICULTY's key."""
    seeds = store.table("seeds")["seed_id"]
    band = pl.when(pl.col("seed_id").is_in(list(teachable))).then(pl.lit("teachable"))
    rows = seeds.to_frame().with_columns(
        model=pl.lit("m1"),
        model_name=pl.lit("weak"),
        setting=pl.lit(uuid.uuid4().hex),
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


# ---- a run that chooses nothing is still the current version ---------------------------------


def test_an_empty_selection_is_the_current_one(store: Store) -> None:
    """`select --name edge` that matches nothing replaces the earlier version: read_selection
    and `traces --selection edge` see no seeds (not the previous version's)."""
    run_synth(store, SynthConfig(count=8, seed=3, families=["compare"]))
    seeds = sorted(store.table("seeds")["seed_id"])
    _bands(store, set(seeds[:3]), "difficulty")
    assert run_select(store, SelectConfig(name="edge"))["selected"] == 3
    _bands(store, set(), "difficulty")  # now nothing is teachable
    assert run_select(store, SelectConfig(name="edge"))["selected"] == 0
    assert read_selection(store, "edge").height == 0
    assert run_traces(store, TracesConfig(teacher="synthetic", selection="edge"))["items"] == 0
    assert not store.has_table("traces") or store.table("traces").height == 0
    with pytest.raises(ValueError, match="no selection named 'other'"):
        read_selection(store, "other")  # never written: still an error, unlike an empty one


def test_an_empty_mixture_build_is_the_current_one(store: Store) -> None:
    run_synth(store, SynthConfig(count=6, seed=3, families=["compare"]))
    seeds = sorted(store.table("seeds")["seed_id"])
    _bands(store, set(seeds), "difficulty")
    run_select(store, SelectConfig(name="edge"))
    run_traces(store, TracesConfig(teacher="synthetic", selection="edge"))
    recipe = {"name": "m", "size": 100, "parts": [{"name": "p", "selection": "edge", "weight": 1}]}
    run_mix_build(store, MixBuildConfig(recipe=recipe))
    assert store.latest(MIXTURE_ITEMS, where="mixture = 'm'").height == 6
    empty = {**recipe, "parts": [{"name": "p", "selection": "edge", "weight": 1, "level": [9, 9]}]}
    assert run_mix_build(store, MixBuildConfig(recipe=empty))["part_p"] == 0
    assert store.latest(MIXTURE_ITEMS, where="mixture = 'm'").height == 0
    assert store.table(MIXTURE_ITEMS).height == 6  # the earlier build stays in the history


def test_a_dedup_pass_that_finds_nothing_is_the_current_assignment(
    store: Store, tmp_path: Path
) -> None:
    """A dedup run is the whole assignment of its table: when a later pass (here a stricter
    threshold) finds no duplicates, mixtures stop excluding what the earlier pass marked."""
    base = "a train leaves the station at noon and travels at sixty miles per hour toward town"
    rows = [{"problem": f"{base} {tail}", "answer": "1"} for tail in ("please", "quickly")]
    rows.append({"problem": "what is the capital of france and why is it there", "answer": "x"})
    source = tmp_path / "seeds.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_ingest(store, IngestConfig(source=str(source), name="dups"))
    assert run_dedup(store, DedupConfig(threshold=0.6))["duplicates"] == 1
    assert store.latest(NEAR_DUPS).height == 2
    assert run_dedup(store, DedupConfig(threshold=1.0))["duplicates"] == 0
    assert store.latest(NEAR_DUPS).height == 0
    assert marks(store, store.snapshot()).filter(pl.col("reason") == "near_duplicate").height == 0


def test_a_filter_run_that_judges_nothing_leaves_the_current_verdicts(store: Store) -> None:
    """Verdicts are current per (trace, filter): a re-judge supersedes a trace's verdict, and a
    run with nothing left to judge is recorded but changes no verdict."""
    run_synth(store, SynthConfig(count=4, seed=3, families=["compare"]))
    run_traces(store, TracesConfig(teacher="synthetic"))
    strict = FilterConfig(filters=["length"], max_tokens=1)
    assert run_filter(store, strict)["length_failed"] == 4
    relaxed = FilterConfig(filters=["length"], rejudge=True)
    assert run_filter(store, relaxed)["length_failed"] == 0
    assert store.latest(VERDICTS)["passed"].all()
    counts = run_filter(store, FilterConfig(filters=["length"]))  # every trace judged already
    assert counts["length_judged"] == 0
    assert store.latest(VERDICTS).height == 4 and store.latest(VERDICTS)["passed"].all()
