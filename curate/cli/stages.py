"""The stage commands: one per declared stage (curate.pipeline.STAGES), derived from its
declaration (store.stage.Stage) and its config, plus the options a declaration's `extras` name.

A stage named `group.command` (seeds.add, mix.build) is `teachable group command`; the others
are top-level (`teachable proxy`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import typer

from curate.cli._common import subgroup
from curate.cli._options import Extra, add_stage_command, stage_callback
from store.stage import Stage


def _set_progress(on: bool | None) -> None:
    if on is not None:
        from synth.session import set_progress

        set_progress(on)


PROGRESS = Extra(
    "progress",
    bool | None,
    typer.Option(
        None,
        "--progress/--no-progress",
        help="Show model-call progress bars (default: on, unless TEACHABLE_PROGRESS=0).",
        show_default=False,
    ),
    _set_progress,
)


class EngineChoice(str, enum.Enum):
    local = "local"
    ray = "ray"


def _set_engine(choice: EngineChoice | None) -> None:
    if choice is not None:
        from store.engine import set_engine

        set_engine(choice.value)


# on the stages whose work the engine moves: model calls (synth.engine), decontam/dedup kernels
ENGINE = Extra(
    "engine",
    EngineChoice | None,
    typer.Option(
        None,
        "--engine",
        help="Where the work runs: local (this process) or ray (the Ray cluster in $RAY_ADDRESS, "
        "else one started on this machine); same rows either way. Default: $TEACHABLE_ENGINE, "
        "else local.",
        show_default=False,
    ),
    _set_engine,
)

# a declaration's `extras` name these
EXTRAS = {"progress": PROGRESS, "engine": ENGINE}


def extras_of(stage: Stage) -> tuple[Extra, ...]:
    unknown = sorted(set(stage.extras) - EXTRAS.keys())
    if unknown:
        raise TypeError(f"{stage.name}: unknown extras {unknown} (known: {sorted(EXTRAS)})")
    return tuple(EXTRAS[name] for name in stage.extras)


def command_function(stage: Stage) -> Callable[..., None]:
    """The command function of `stage` (imports its config's module)."""
    return stage_callback(stage, extras_of(stage))


def register(app: typer.Typer) -> None:
    """Add every declared stage (curate.pipeline.STAGES), under its group when its name has
    one."""
    from curate.pipeline import STAGES

    for stage in STAGES.values():
        group, _, name = stage.name.rpartition(".")
        target = subgroup(app, group) if group else app
        add_stage_command(target, name, stage, extras_of(stage))
