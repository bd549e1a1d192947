"""The `seeds.add` stage (store.stage.Stage): its recipe stage, `teachable seeds add` command
and preflight all come from this declaration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from store.stage import Stage

if TYPE_CHECKING:
    from curate.seeds.ingest import IngestConfig
    from quality.benchmarks.check import HubProbe


def check_source(config: IngestConfig, hub: HubProbe) -> list[str]:
    source: str = config.source
    if source.startswith("hf:"):
        repo, _, subset = source[3:].partition(":")
        problem = hub.problem(repo, subset or None, config.split)
        return [f"seed source {source}: {problem}"] if problem else []
    if Path(source).exists():
        return []
    return [f"seed source {source}: no such file or folder (relative to {Path.cwd()})"]


SEEDS_ADD_STAGE = Stage(
    "seeds.add",
    config="curate.seeds.ingest:IngestConfig",
    run="curate.seeds.ingest:run_ingest",
    help="Ingest seeds from a file, a dataset folder or the Hub.",
    example="teachable seeds add gsm8k_train.jsonl --name gsm8k",
    check=check_source,
    arguments=("source",),
    flags={"name": ("--name", "-n")},
    creates_store=True,
)
