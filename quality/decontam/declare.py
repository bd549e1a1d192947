"""The `decontam` stage (store.stage.Stage): its recipe stage, `teachable decontam` command and
preflight come from this declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.stage import Stage

if TYPE_CHECKING:
    from quality.benchmarks.check import HubProbe
    from quality.decontam.stage import DecontamConfig


def check_benchmarks(config: DecontamConfig, hub: HubProbe) -> list[str]:
    from quality.benchmarks.check import check_benchmarks
    from quality.benchmarks.registry import Registry

    try:
        registry = Registry.load(config.registry)
    except (OSError, ValueError) as exc:
        return [str(exc)]
    return check_benchmarks(registry, config.benchmarks, hub)


DECONTAM_STAGE = Stage(
    "decontam",
    config="quality.decontam.stage:DecontamConfig",
    run="quality.decontam.stage:run_decontam",
    help="Flag items that overlap benchmarks (n-grams and MinHash).",
    example="teachable decontam -b math500 -b aime24",
    check=check_benchmarks,
    flags={
        "registry": ("--registry", "-r"),
        "benchmarks": ("--benchmark", "-b"),
        "include_traces": ("--traces",),
    },
    extras=("engine",),
)
