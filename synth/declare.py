"""The `traces` stage (store.stage.Stage): its recipe stage, `teachable traces` command and
preflight come from this declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.stage import Stage

if TYPE_CHECKING:
    from quality.benchmarks.check import HubProbe
    from synth.traces import TracesConfig


def check_traces(config: TracesConfig, hub: HubProbe) -> list[str]:
    from synth.preflight import file_problems, model_problems

    return model_problems(config.teacher) + file_problems(
        "system prompt file", config.system_prompt_file
    )


TRACES_STAGE = Stage(
    "traces",
    config="synth.traces:TracesConfig",
    run="synth.traces:run_traces",
    help="Sample teacher traces and check their answers (exit code 3: a budget stopped the run).",
    example='teachable traces --teacher models/o3-mini.yaml --samples 4 --where "level >= 3"',
    check=check_traces,
    flags={
        "teacher": ("--teacher", "-t"),
        "samples": ("--samples", "-n"),
        "source": ("--from",),
        "system_prompt_file": ("--system-prompt",),
        "max_new": ("--max-tokens",),
        "budget_total": ("--token-budget",),
        "budget_usd": ("--cost-budget",),
    },
    extras=("progress", "engine"),
    after="curate.cli.synth:stop_on_budget",
)
