"""Preflight: check every stage's inputs before the first stage of a recipe runs.

A recipe that would stop at stage 6 for a missing benchmark or a mistyped file name should stop
before stage 1, with every such problem listed at once, instead of after five stages of model
calls. The checks look at names and files only: model configs (YAML files, embedded GGUF
models, backend packages, API-key variables), benchmarks (registry file, names, mirror or local
files, the hub's index of a dataset), mixture recipes, seed sources and system prompt files.
No model is loaded and no dataset rows are downloaded.

A stage's check is the `check` of its declaration (store.stage.Stage); stages without inputs of
this kind have none.
"""

from __future__ import annotations

from pydantic import BaseModel

from quality.benchmarks.check import HubProbe
from synth.preflight import model_problems

__all__ = ["HubProbe", "model_problems", "stage_problems"]


def stage_problems(name: str, config: BaseModel, hub: HubProbe | None = None) -> list[str]:
    """Problems with the inputs of one run of stage `name` (its declaration's check)."""
    from curate.pipeline import declared

    check = declared(name).check
    return list(check(config, hub or HubProbe())) if check is not None else []
