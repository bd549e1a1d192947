"""The stage commands: one per entry of `curate.pipeline.STAGES`, derived from the stage's
config, with everything the config does not say in the one table below.

A stage named `group.command` (seeds.add, mix.build) is `teachable group command`; the others
are top-level (`teachable proxy`).
"""

from __future__ import annotations

import enum

import typer

from curate.cli import evaluation, mix, teach
from curate.cli import synth as synth_cli
from curate.cli._common import subgroup
from curate.cli._options import Extra, StageCommand, add_stage_command


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

# stage -> how it appears on the command line beyond its config; `helps` stand in for field
# docstrings the config does not have yet
COMMANDS: dict[str, StageCommand] = {
    "seeds.add": StageCommand(
        "Ingest seeds from a file, a dataset folder or the Hub.",
        "teachable seeds add gsm8k_train.jsonl --name gsm8k",
        arguments=("source",),
        flags={"name": ("--name", "-n")},
        creates_store=True,
    ),
    "seeds.synth": StageCommand(
        "Generate math and code seeds with exact answers (code: tests) and levels.",
        "teachable seeds synth --count 200 --family arithmetic --level 1",
        flags={"families": ("--family",), "levels": ("--level",)},
        creates_store=True,
    ),
    "proxy": StageCommand(
        "Proxy answers: the reference, else a strong model's majority vote.",
        "teachable proxy --model models/o3-mini.yaml --samples 5",
        extras=(PROGRESS, ENGINE),
    ),
    "difficulty": StageCommand(
        "Weak-model pass rates and difficulty bands (adaptive K).",
        "teachable difficulty --weak smollm2 --weak gemma3 --samples 8",
        extras=(PROGRESS, ENGINE),
        after=teach.print_call_share,
    ),
    "rewrite": StageCommand(
        "Rewrite proofs and open-ended seeds into checkable short-answer questions.",
        "teachable rewrite --model models/o3-mini.yaml --selection edge",
        extras=(PROGRESS, ENGINE),
    ),
    "select": StageCommand(
        "Record a named selection of seeds at this snapshot.",
        "teachable select --name edge --band teachable --max-per-source 100",
        flags={
            "bands": ("--band",),
            "domains": ("--domain",),
            "sources": ("--source",),
            "models": ("--model",),
        },
    ),
    "traces": StageCommand(
        "Sample teacher traces and check their answers (exit code 3: a budget stopped the run).",
        'teachable traces --teacher models/o3-mini.yaml --samples 4 --where "level >= 3"',
        flags={
            "teacher": ("--teacher", "-t"),
            "samples": ("--samples", "-n"),
            "source": ("--from",),
            "system_prompt_file": ("--system-prompt",),
            "max_new": ("--max-tokens",),
            "budget_total": ("--token-budget",),
            "budget_usd": ("--cost-budget",),
        },
        extras=(PROGRESS, ENGINE),
        after=synth_cli.stop_on_budget,
    ),
    "mix.build": StageCommand(
        "Resolve a mixture recipe at one snapshot.",
        "teachable mix build recipes/mixtures/example.yaml --at v1",
        arguments=("recipe",),
        after=mix.print_built,
    ),
    "export": StageCommand(
        "Export a mixture as chat data with a dataset card.",
        "teachable export example --format parquet --out exports/example",
        arguments=("mixture",),
        flags={
            "format": ("--format", "-f"),
            "out": ("--out", "-o"),
            "system_prompt_file": ("--system-prompt",),
        },
        after=mix.print_exported,
    ),
    "decontam": StageCommand(
        "Flag items that overlap benchmarks (n-grams and MinHash).",
        "teachable decontam -b math500 -b aime24",
        flags={
            "registry": ("--registry", "-r"),
            "benchmarks": ("--benchmark", "-b"),
            "include_traces": ("--traces",),
        },
        extras=(ENGINE,),
    ),
    "dedup": StageCommand(
        "Cluster near-duplicates and keep the earliest of each cluster.",
        "teachable dedup --table seeds --threshold 0.85",
        extras=(ENGINE,),
    ),
    "sft": StageCommand(
        "Fine-tune on an exported mixture as a journaled recipe stage (skips a finished run).",
        "teachable sft --dataset exports/edge --output-dir runs/edge --settings "
        "'{\"max_steps\": 60}'",
    ),
    "filter": StageCommand(
        "Judge traces with the quality filters into `verdicts`.",
        "teachable filter -f not_truncated -f repetition",
        flags={"filters": ("--filter", "-f")},
    ),
    "eval": StageCommand(
        "Score a model (checkpoint, config, served) on benchmarks with N samples per item.",
        "teachable eval --model runs/sft -b gsm8k_test -b math500 --samples 8 --limit 100",
        flags={"model": ("--model", "-m"), "benchmarks": ("--benchmark", "-b")},
        extras=(PROGRESS, ENGINE),
        creates_store=True,  # scoring a model on registry benchmarks needs no seeds
        after=evaluation.print_eval,
    ),
}


def register(app: typer.Typer) -> None:
    """Add every stage of the pipeline registry, under its group when its name has one."""
    from curate.pipeline import STAGES

    for stage in STAGES:
        group, _, name = stage.rpartition(".")
        spec = COMMANDS.get(stage) or StageCommand(  # a new stage runs before it has a row
            f"Run the {stage} stage.", f"teachable {stage.replace('.', ' ')}"
        )
        add_stage_command(subgroup(app, group) if group else app, name, stage, spec)
