"""Whether a model spec and a file a stage reads can be used, found out without loading either:
the pieces the stages' input checks (recipe preflight) are made of."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

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


def models_problems(specs: Iterable[Any]) -> list[str]:
    return [p for spec in specs for p in model_problems(spec)]


def file_problems(what: str, path: str | None) -> list[str]:
    """`what PATH not found` when a given path is not a file (None: nothing given)."""
    if path is None or Path(path).is_file():
        return []
    return [f"{what} {path} not found (relative to {Path.cwd()})"]
