"""The `eval` stage (store.stage.Stage): its recipe stage, `teachable eval` command and
preflight come from this declaration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from store.stage import Stage

if TYPE_CHECKING:
    from curate.evaluation.stage import EvalConfig
    from quality.benchmarks.check import HubProbe


def check_eval(config: EvalConfig, hub: HubProbe) -> list[str]:
    """Benchmarks, files and model configs that cannot be found. A model folder that does not
    exist yet is not a problem: an earlier stage may train it."""
    from curate.evaluation.items import benchmark_problems
    from synth.preflight import model_problems

    problems = []
    if config.benchmarks:
        problems += benchmark_problems(config.benchmarks, config.registry)
    if config.system_prompt_file and not Path(config.system_prompt_file).is_file():
        problems.append(f"system prompt file {config.system_prompt_file} not found")
    return problems + model_problems(config.model)


EVAL_STAGE = Stage(
    "eval",
    config="curate.evaluation.stage:EvalConfig",
    run="curate.evaluation.stage:run_eval",
    help="Score a model (checkpoint, config, served) on benchmarks with N samples per item.",
    example="teachable eval --model runs/sft -b gsm8k_test -b math500 --samples 8 --limit 100",
    check=check_eval,
    flags={"model": ("--model", "-m"), "benchmarks": ("--benchmark", "-b")},
    extras=("progress", "engine"),
    creates_store=True,  # scoring a model on registry benchmarks needs no seeds
    after="curate.cli.evaluation:print_eval",
)
