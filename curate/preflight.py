"""Preflight: check every stage's inputs before the first stage of a recipe runs.

A recipe that would stop at stage 6 for a missing benchmark or a mistyped file name should stop
before stage 1, with every such problem listed at once, instead of after five stages of model
calls. The checks look at names and files only: model configs (YAML files, embedded GGUF
models, backend packages, API-key variables), benchmarks (registry file, names, mirror or local
files, the hub's index of a dataset), mixture recipes, seed sources and system prompt files.
No model is loaded and no dataset rows are downloaded.

Checks are found by stage name in `CHECKS` (stages without inputs of this kind have none). A
stage config may also define `check_inputs(self) -> list[str]`; its problems are added, so a
stage can own checks of its own.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from quality.benchmarks.check import HubProbe, check_benchmarks
from quality.benchmarks.registry import Registry

# backend -> (import name, how to get it); backends not listed need only core dependencies
_BACKEND_PACKAGES = {
    "llamacpp": ("llama_cpp", "pip install 'teachable[local]'"),
    "vllm": ("vllm", "pip install 'teachable[gpu]'"),
}


def _model_label(spec: Any) -> str:
    if spec is None:
        return "model (default: SmolLM2)"
    return f"model {spec}" if isinstance(spec, str) else "inline model config"


def model_problems(spec: Any) -> list[str]:
    """Why a model spec (synth.models.resolve_model_config) could not be used."""
    from synth.models import resolve_gguf, resolve_model_config

    label = _model_label(spec)
    if isinstance(spec, str) and spec.endswith((".yaml", ".yml")) and not Path(spec).is_file():
        return [f"{label}: model config file not found (relative to {Path.cwd()})"]
    if isinstance(spec, str) and _checkpoint_to_come(spec):
        return []  # a checkpoint folder an earlier stage of the recipe may train
    try:
        config = resolve_model_config(spec)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return [f"{label}: {exc}"]
    problems = []
    package = _BACKEND_PACKAGES.get(config.backend)
    if package and importlib.util.find_spec(package[0]) is None:
        problems.append(f"{label}: backend {config.backend} needs {package[0]} ({package[1]})")
    elif config.backend == "llamacpp":
        try:
            gguf = resolve_gguf(config)
        except (OSError, ValueError, ImportError) as exc:
            problems.append(f"{label}: {exc}")
        else:
            if not gguf.is_file():
                problems.append(f"{label}: GGUF file {gguf} is missing")
    if config.api_key_env and not os.environ.get(config.api_key_env):
        problems.append(f"{label}: its API key variable {config.api_key_env} is not set")
    return problems


def _checkpoint_to_come(spec: str) -> bool:
    path = Path(spec).expanduser()
    return not path.suffix and not path.exists() and ("/" in spec or spec.startswith((".", "~")))


def _models(specs: Iterable[Any]) -> list[str]:
    return [p for spec in specs for p in model_problems(spec)]


def _file(what: str, path: str | None) -> list[str]:
    if path is None or Path(path).is_file():
        return []
    return [f"{what} {path} not found (relative to {Path.cwd()})"]


def _seeds_add(config: Any, hub: HubProbe) -> list[str]:
    source: str = config.source
    if source.startswith("hf:"):
        repo, _, subset = source[3:].partition(":")
        problem = hub.problem(repo, subset or None, config.split)
        return [f"seed source {source}: {problem}"] if problem else []
    if Path(source).exists():
        return []
    return [f"seed source {source}: no such file or folder (relative to {Path.cwd()})"]


def _proxy(config: Any, hub: HubProbe) -> list[str]:
    return _models([config.model])


def _difficulty(config: Any, hub: HubProbe) -> list[str]:
    return _models(config.weak)


def _rewrite(config: Any, hub: HubProbe) -> list[str]:
    # solver None means "the rewriter model", already checked
    return _models([config.model, *([config.solver] if config.solver is not None else [])])


def _traces(config: Any, hub: HubProbe) -> list[str]:
    return _models([config.teacher]) + _file("system prompt file", config.system_prompt_file)


def _export(config: Any, hub: HubProbe) -> list[str]:
    return _file("system prompt file", config.system_prompt_file)


def _mix_build(config: Any, hub: HubProbe) -> list[str]:
    from curate.mixtures.recipe import MixtureRecipeError, load_recipe

    try:
        load_recipe(config.recipe)
    except MixtureRecipeError as exc:
        return [f"mixture recipe: {exc}"]
    return []


def _decontam(config: Any, hub: HubProbe) -> list[str]:
    try:
        registry = Registry.load(config.registry)
    except (OSError, ValueError) as exc:
        return [str(exc)]
    return check_benchmarks(registry, config.benchmarks, hub)


# stage name (curate.pipeline.STAGES) -> its input check; one line per stage with file inputs
CHECKS: dict[str, Callable[[Any, HubProbe], list[str]]] = {
    "seeds.add": _seeds_add,
    "proxy": _proxy,
    "difficulty": _difficulty,
    "rewrite": _rewrite,
    "traces": _traces,
    "mix.build": _mix_build,
    "export": _export,
    "decontam": _decontam,
}


def stage_problems(name: str, config: BaseModel, hub: HubProbe | None = None) -> list[str]:
    """Problems with one stage's inputs: its `CHECKS` entry plus the config's own hook."""
    hub = hub or HubProbe()
    problems = CHECKS[name](config, hub) if name in CHECKS else []
    hook = getattr(config, "check_inputs", None)
    return problems + (list(hook()) if callable(hook) else [])
