"""`teachable select`: a named selection of seeds, fixed to the snapshot it was resolved at.

A seed is selected when, for every weak model considered (all, or `models`), its latest
difficulty row has a band in `bands`, and it matches the domain/source filters. `max_per_source`
keeps, per source, the seeds whose pass rate is closest to the middle of the teachable range
(ties by seed id, a content hash, so the pick is stable). Re-running a name records a new
version; `read_selection` returns the current one (`Store.latest`: latest run by start time).

Usage:
    run_select(store, SelectConfig(name="edge", bands=["teachable"], max_per_source=100))
    teachable select --name edge --band teachable --max-per-source 100
"""

from __future__ import annotations

import json

import polars as pl
from pydantic import Field, field_validator

from curate.teachability.declare import SELECT_STAGE
from store import StageConfig, Store
from store.errors import InputError
from store.tables import BANDS, DIFFICULTY, SEEDS, SELECTIONS


class SelectConfig(StageConfig):
    name: str = Field(min_length=1)
    """Selection name."""
    bands: list[str] = Field(default_factory=lambda: ["teachable"])
    """Bands a seed must have (for every weak model considered)."""
    domains: list[str] | None = None
    """Only seeds of these domains; default every domain."""
    sources: list[str] | None = None
    """Only seeds of these sources; default every source."""
    models: list[str] | None = None
    """Weak model names or config hashes to require the band for; None: every model measured."""
    max_per_source: int | None = Field(default=None, ge=1)
    """Cap per source: the seeds whose pass rate is nearest the middle of the range."""

    @field_validator("bands")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(BANDS))
        if unknown or not value:
            raise ValueError(f"bands must be a non-empty subset of {list(BANDS)}; got {value}")
        return value


def latest_difficulty(store: Store, at: int | str | None = None) -> pl.DataFrame:
    """The difficulty rows of the latest run per (seed, weak model)."""
    return store.latest(DIFFICULTY, at=at)


def selected_seeds(store: Store, config: SelectConfig, at: int) -> pl.DataFrame:
    """seed_id and source of the seeds the selection holds at snapshot `at`."""
    rows = latest_difficulty(store, at)
    if config.models:
        wanted = pl.col("model_name").is_in(config.models) | pl.col("model").is_in(config.models)
        rows = rows.filter(wanted)
    mid = rows.group_by("seed_id").agg(
        pl.col("band").is_in(config.bands).all().alias("ok"),
        pl.col("pass_rate").mean().alias("pass_rate"),
    )
    seeds = store.sql(f"SELECT seed_id, source, domain FROM {store.ref(SEEDS, at=at)}")
    picked = mid.filter("ok").join(seeds, on="seed_id", how="inner")
    if config.domains:
        picked = picked.filter(pl.col("domain").is_in(config.domains))
    if config.sources:
        picked = picked.filter(pl.col("source").is_in(config.sources))
    if config.max_per_source:
        picked = (
            picked.sort((pl.col("pass_rate") - 0.5).abs(), pl.col("seed_id"))
            .group_by("source", maintain_order=True)
            .head(config.max_per_source)
        )
    return picked.select("seed_id", "source").sort("seed_id")


def run_select(store: Store, config: SelectConfig) -> dict[str, int]:
    with store.run(SELECT_STAGE, config) as run:
        picked = selected_seeds(store, config, run.at)
        criteria = json.dumps(config.model_dump(exclude={"at"}), sort_keys=True)
        rows = picked.select(
            pl.lit(config.name).alias("name"),
            "seed_id",
            pl.lit(run.at, dtype=pl.Int64).alias("snapshot_id"),
            pl.lit(criteria).alias("criteria"),
        )
        run.insert(SELECTIONS, rows, replaces={"name": config.name})
        return run.count_all({"selected": picked.height, "sources": picked["source"].n_unique()})


def selection_rows(store: Store, name: str, at: int | str | None = None) -> pl.DataFrame:
    """The rows (name, seed_id, snapshot_id, criteria, run_id) of the current version of
    selection `name`: the one written by its latest `select` run."""
    if not store.has_table(SELECTIONS, at):
        raise InputError(f"no selection named {name!r} in store {store.name} (no selections yet)")
    rows = store.latest(SELECTIONS, at=at, where="name = ?", params=[name])
    if rows.height == 0 and not store.has_version(SELECTIONS, {"name": name}, at):
        raise InputError(f"no selection named {name!r} in store {store.name}")
    return rows  # empty when the latest `select` of this name chose nothing


def read_selection(store: Store, name: str, at: int | str | None = None) -> pl.DataFrame:
    """The seeds (with their seed rows at the selection's snapshot) of the current version of
    selection `name`."""
    rows = selection_rows(store, name, at)
    if rows.height == 0:
        return store.table(SEEDS, at=at).clear().with_columns(snapshot_id=pl.lit(None, pl.Int64))
    snapshot = int(rows["snapshot_id"][0])
    seeds = store.table(SEEDS, at=snapshot)
    return seeds.join(rows.select("seed_id", "snapshot_id"), on="seed_id", how="inner")
