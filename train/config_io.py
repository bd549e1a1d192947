"""Build a training config dataclass from a preset, a YAML file and CLI flags (in that order of
precedence, lowest first), TRL-style: the same dataclass serves Python, YAML and the command line.

    cfg = load_config(SFTRunConfig, "recipes/sft.yaml", ["--max_steps", "20"])

A YAML may name `preset: <name>` (a file in train/presets/) and `deepspeed: zero2|zero3` (the
packaged ZeRO configs); both also accept a path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from store.errors import ConfigError, NotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent
PRESETS_DIR = PACKAGE_DIR / "presets"
DEEPSPEED_DIR = PACKAGE_DIR / "deepspeed"
ACCELERATE_DIR = PACKAGE_DIR / "accelerate"

T = TypeVar("T")


def read_yaml(path: str | Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a YAML mapping")
    return data


def preset_path(name: str) -> Path:
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        return path
    found = PRESETS_DIR / f"{name}.yaml"
    if not found.exists():
        known = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
        raise NotFoundError(f"unknown preset {name!r}; known: {known}")
    return found


def deepspeed_path(value: str | None) -> str | None:
    """`zero2` / `zero3` -> the packaged JSON; anything else is returned unchanged."""
    if value and (DEEPSPEED_DIR / f"{value}.json").exists():
        return str(DEEPSPEED_DIR / f"{value}.json")
    return value


def merged_settings(config_path: str | Path | None) -> dict[str, Any]:
    """The YAML's settings over its preset chain's; a bare preset name works as a config."""
    if not config_path:
        settings: dict[str, Any] = {}
    elif Path(config_path).exists():
        settings = read_yaml(config_path)
    else:
        settings = {"preset": str(config_path)}
    chain: list[dict[str, Any]] = [settings]
    seen: set[str] = set()
    while "preset" in chain[-1]:  # presets may build on presets
        name = chain[-1].pop("preset")
        if name in seen:
            raise ConfigError(f"preset cycle at {name!r}")
        seen.add(name)
        chain.append(read_yaml(preset_path(name)))
    merged: dict[str, Any] = {}
    for layer in reversed(chain):
        merged.update(layer)
    for key, value in merged.pop("env", {}).items():
        os.environ.setdefault(key, str(value))
    return merged


def checked_settings(cls: type, config_path: str | Path | None, **overrides: Any) -> dict:
    """The merged settings, refusing names that are not fields of `cls` (typos)."""
    settings = merged_settings(config_path)
    settings.update(overrides)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} setting(s): {unknown}")
    return settings


def load_config(
    cls: type[T],
    config_path: str | Path | None = None,
    cli_args: Sequence[str] = (),
    **overrides: Any,
) -> T:
    """`overrides` (Python callers, tests) beat the YAML; CLI flags beat everything."""
    from transformers.hf_argparser import DataClassType
    from trl import TrlParser

    settings = checked_settings(cls, config_path, **overrides)
    if "deepspeed" in settings:
        settings["deepspeed"] = deepspeed_path(settings["deepspeed"])
    parser = TrlParser(dataclass_types=[DataClassType(cls)])
    parser.set_defaults_with_config(**settings)
    (config,) = parser.parse_args_into_dataclasses(args=_resolve_cli(cli_args))
    return config


def split_config_flag(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """(`--config PATH` value or None, the other arguments)."""
    args = list(argv)
    if "--config" not in args:
        return None, args
    i = args.index("--config")
    if i + 1 >= len(args):
        raise ConfigError("--config needs a path")
    path = args[i + 1]
    del args[i : i + 2]
    return path, args


def _resolve_cli(args: Sequence[str]) -> list[str]:
    """Expand `--deepspeed zero3` before TrainingArguments.__post_init__ opens the file."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--deepspeed" and i + 1 < len(out):
            out[i + 1] = deepspeed_path(out[i + 1]) or out[i + 1]
        elif arg.startswith("--deepspeed="):
            out[i] = "--deepspeed=" + (deepspeed_path(arg.split("=", 1)[1]) or "")
    return out
