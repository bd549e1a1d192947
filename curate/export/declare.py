"""The `export` stage (store.stage.Stage): its recipe stage, `teachable export` command and
preflight come from this declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.stage import Stage

if TYPE_CHECKING:
    from curate.export.stage import ExportConfig
    from quality.benchmarks.check import HubProbe


def check_export(config: ExportConfig, hub: HubProbe) -> list[str]:
    from synth.preflight import file_problems

    return file_problems("system prompt file", config.system_prompt_file)


EXPORT_STAGE = Stage(
    "export",
    config="curate.export.stage:ExportConfig",
    run="curate.export.stage:run_export",
    help="Export a mixture as chat data with a dataset card.",
    example="teachable export example --format parquet --out exports/example",
    check=check_export,
    arguments=("mixture",),
    flags={
        "format": ("--format", "-f"),
        "out": ("--out", "-o"),
        "system_prompt_file": ("--system-prompt",),
    },
    after="curate.cli.mix:print_exported",
)
