"""Stage registry and the recipe runner behind `teachable run RECIPE.yaml`.

A recipe is YAML: `store:` (optional path) and `stages:`, a list of `{stage: NAME, config:
{...}}` (or `NAME: {...}`). A stage is its declaration (store.stage.Stage, in its package's
`declare` module); its config class and run function are imported only when a recipe uses it,
so `teachable --help` never imports torch.

An optional `engine:` (local or ray) says where the stages' model calls and decontam/dedup
kernels run (store.engine); it is a process setting, set when the recipe is loaded.

`load_recipe` validates every stage's config and checks every stage's inputs (files, models,
benchmarks: curate.preflight) before the first stage runs, and reports all problems at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from store import Store
from store.errors import ConfigError
from store.stage import Stage

# the modules that declare stages (store.stage.Stage objects at their top level), in pipeline
# order, which is the order `teachable --help` lists the commands in; each imports nothing but
# store.stage, so reading them all costs the CLI nothing
DECLARATIONS = (
    "curate.seeds.declare",
    "curate.synthetic.declare",
    "curate.teachability.declare",
    "synth.declare",
    "curate.mixtures.declare",
    "curate.export.declare",
    "quality.decontam.declare",
    "quality.dedup.declare",
    "quality.filters.declare",
    "curate.declare",
    "curate.evaluation.declare",
    "quality.review.declare",
)


def collect(modules: Iterable[str]) -> dict[str, Stage]:
    """Every stage the modules declare, by name, in declaration order."""
    stages: dict[str, Stage] = {}
    for module in modules:
        for value in vars(importlib.import_module(module)).values():
            if not isinstance(value, Stage) or stages.get(value.name) is value:
                continue
            if value.name in stages:
                raise TypeError(f"stage '{value.name}' is declared twice ({module})")
            stages[value.name] = value
    return stages


STAGES: dict[str, Stage] = collect(DECLARATIONS)


class RecipeError(ConfigError):
    """A recipe that cannot run; the message names the file, the stage and the field."""


def declared(name: str, where: str = "") -> Stage:
    if name not in STAGES:
        known = ", ".join(sorted(STAGES))
        raise RecipeError(f"{where or 'recipe'}: unknown stage '{name}' (known: {known})")
    return STAGES[name]


def stage_config(name: str, raw: dict[str, Any], where: str) -> BaseModel:
    stage = declared(name, where)
    try:
        return stage.config_class.model_validate(raw or {})
    except ValidationError as exc:
        fields = "; ".join(_field_error(e["loc"], e["msg"]) for e in exc.errors())
        raise RecipeError(f"{where}: stage '{name}': {fields}") from exc


def _field_error(loc: tuple[int | str, ...], msg: str) -> str:
    """`field: message`, or the message alone for a check of the whole config."""
    msg = msg.removeprefix("Value error, ")  # a validator's own words
    return f"{'.'.join(str(p) for p in loc)}: {msg}" if loc else msg


def run_stage(store: Store, name: str, config: BaseModel) -> dict[str, int]:
    return declared(name).run_function(store, config)


def _entry(entry: Any, where: str) -> tuple[str, Any]:
    if isinstance(entry, dict) and "stage" in entry:
        return entry["stage"], entry.get("config", {})
    if isinstance(entry, dict) and len(entry) == 1:
        return next(iter(entry.items()))
    raise RecipeError(f"{where}: expected `{{stage: NAME, config: {{...}}}}`")


def load_recipe(
    path: Path, *, check_inputs: bool = True
) -> tuple[str | None, list[tuple[str, BaseModel]]]:
    """Parse and validate every stage, then check every stage's inputs (curate.preflight),
    before any runs: a typo in stage 5 or a missing benchmark costs nothing, and every problem
    in the recipe is reported in one error."""
    from curate.preflight import HubProbe, stage_problems

    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc}") from exc
    if not isinstance(recipe, dict) or not isinstance(recipe.get("stages"), list):
        raise RecipeError(f"{path}: a recipe is a mapping with a `stages:` list")
    problems: list[str] = []
    problems += _engine_problems(recipe)
    stages: list[tuple[str, BaseModel]] = []
    hub = HubProbe()  # one per recipe: an unreachable hub is reported once, not per stage
    for index, entry in enumerate(recipe["stages"], start=1):
        try:
            name, raw = _entry(entry, f"stages[{index}]")
            config = stage_config(name, raw, f"stages[{index}]")
        except RecipeError as exc:
            problems.append(str(exc))
            continue
        stages.append((name, config))
        if check_inputs:
            problems += [
                f"stages[{index}] {name}: {_indent(p)}" for p in stage_problems(name, config, hub)
            ]
    if len(problems) == 1:
        raise RecipeError(f"{path}: {problems[0]}")
    if problems:
        listed = "".join(f"\n- {p}" for p in problems)
        raise RecipeError(f"{path}: {len(problems)} problems, found before any stage ran:{listed}")
    return recipe.get("store"), stages


def _indent(text: str) -> str:
    """Continuation lines of a multi-line problem, indented under its list item."""
    return text.replace("\n", "\n    ")


def _engine_problems(recipe: dict[str, Any]) -> list[str]:
    """Set the recipe's `engine:` for this process (which loads a recipe to run it), or say
    why it cannot be; `teachable run --engine` overrides it afterwards."""
    from store.engine import set_engine

    if recipe.get("engine") is None:
        return []
    try:
        set_engine(str(recipe["engine"]))
    except ValueError as exc:
        return [str(exc)]
    return []
