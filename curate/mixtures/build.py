"""`mix.build`: resolve a mixture recipe at one snapshot into `mixtures` + `mixture_items`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import polars as pl

from curate.mixtures import inputs, review
from curate.mixtures.declare import MIX_BUILD_STAGE
from curate.mixtures.recipe import MixtureRecipe, MixtureRecipeError, load_recipe
from curate.mixtures.sample import apply_exclusions, sample_parts
from store import StageConfig, Store
from store.tables import MIXTURE_ITEMS, MIXTURES, QUESTIONS, SEEDS, TRACES


class MixBuildConfig(StageConfig):
    recipe: str | dict[str, Any]
    """Mixture recipe YAML (or the recipe itself, inline in a pipeline recipe)."""


@dataclass
class Resolved:
    items: pl.DataFrame  # MIXTURE_ITEMS columns less mixture/run_id
    counts: dict[str, dict[str, int]]
    exclusions: dict[str, int]
    decontamination: dict[str, int]
    decontamination_kinds: dict[str, dict[str, int]]
    input_runs: dict[str, list[str]]
    candidates: int


def _runs(items: pl.DataFrame, column: str) -> list[str]:
    return sorted(items[column].drop_nulls().unique().to_list())


def resolve_mixture(store: Store, recipe: MixtureRecipe, at: int) -> Resolved:
    """The recipe's items at snapshot `at`; reads only, writes nothing."""
    candidates = inputs.candidates(store, at, recipe.seed, recipe.difficulty_model)
    candidates = review.rescore(store, at, recipe.review_rule, candidates)
    marks = inputs.marks(store, at, recipe.review_rule)
    cleaned = apply_exclusions(candidates, marks, recipe.exclude_siblings)
    cache: dict[str, pl.Series] = {}

    def selection(name: str) -> pl.Series:
        if name not in cache:
            cache[name] = inputs.selection_seeds(store, at, name)
        return cache[name]

    items, counts = sample_parts(cleaned.pool, recipe, selection)
    short = {p: c for p, c in counts.items() if c["selected"] < c["target"]}
    if recipe.strict and short:
        detail = ", ".join(f"{p}: {c['selected']} of {c['target']}" for p, c in short.items())
        raise MixtureRecipeError(
            f"mixture '{recipe.name}' at snapshot {at}: too few candidates ({detail}); "
            "relax the filters or set strict: false"
        )
    runs = {
        TRACES.name: _runs(items, "trace_run"),
        SEEDS.name: _runs(items, "seed_run"),
        QUESTIONS.name: _runs(items, "question_run"),
        **inputs.mark_runs(store, at),
    }
    columns = [c for c in MIXTURE_ITEMS.columns if c in items.columns]
    return Resolved(
        items=items.select(columns),
        counts=counts,
        exclusions=cleaned.exclusions,
        decontamination=cleaned.decontamination,
        decontamination_kinds=cleaned.decontamination_kinds,
        input_runs={k: v for k, v in runs.items() if v},
        candidates=candidates.height,
    )


def run_mix_build(store: Store, config: MixBuildConfig) -> dict[str, int]:
    recipe, text = load_recipe(config.recipe)
    with store.run(MIX_BUILD_STAGE, config) as run:
        resolved = resolve_mixture(store, recipe, run.at)
        items = resolved.items.with_columns(mixture=pl.lit(recipe.name))
        run.insert(MIXTURE_ITEMS, items, replaces={"mixture": recipe.name})
        record = {
            "name": recipe.name,
            "recipe": text,
            "snapshot_id": run.at,
            "seed": recipe.seed,
            "counts": json.dumps(resolved.counts, sort_keys=True),
            "exclusions": json.dumps(resolved.exclusions, sort_keys=True),
            "decontamination": json.dumps(resolved.decontamination, sort_keys=True),
            "decontamination_kinds": json.dumps(resolved.decontamination_kinds, sort_keys=True),
            "input_runs": json.dumps(resolved.input_runs, sort_keys=True),
            "items": items.height,
            "run_id": run.id,
            "created_at": datetime.now(timezone.utc).replace(tzinfo=None),
        }
        run.insert(MIXTURES, pl.DataFrame([record]), replaces={"name": recipe.name})
        return run.count_all(
            {
                "candidates": resolved.candidates,
                **{f"excluded_{reason}": n for reason, n in resolved.exclusions.items()},
                **{f"part_{part}": c["selected"] for part, c in resolved.counts.items()},
            }
        )
