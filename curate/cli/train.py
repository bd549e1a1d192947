"""`teachable train sft|grpo CONFIG [--flag value ...]` and `teachable report train RUN`.

Thin shells over train.sft / train.grpo / train.report, imported lazily so the CLI starts
without torch. Flags after CONFIG override the YAML (any field of the run config, TRL's own
included: `--max_steps 20 --learning_rate 2e-5 --deepspeed zero3`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import typer

from curate.cli._common import StoreOption, console, err_console, open_store, subgroup, user_errors
from store.errors import InputError

app = typer.Typer(help="SFT and GRPO on an exported mixture (TRL).", no_args_is_help=True)

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
ConfigArg = typer.Argument(..., help="Run config YAML, or a preset name.", dir_okay=False)
LaunchOption = typer.Option(
    None, help="Run under `accelerate launch` with train/accelerate/NAME.yaml (zero2, zero3, ...)."
)
ProcsOption = typer.Option(None, "--num-processes", help="With --launch: processes (GPUs).")
RankOption = typer.Option(None, "--machine-rank", help="With --launch: this node's rank.")
IpOption = typer.Option(None, "--main-process-ip", help="With --launch: the first node's address.")
NodesOption = typer.Option(
    None, "--nodes", help="With --launch: nodes in the cluster (default: the YAML's).", min=1
)
GpusOption = typer.Option(
    8, "--gpus-per-node", help="With --nodes: GPUs (processes) per node.", min=1
)
DryRunOption = typer.Option(
    False,
    "--dry-run",
    help="With --launch: check the config against the cluster (world size, per-device batch x "
    "accumulation x devices = global batch) and print every node's command; launch nothing.",
)


@dataclass(frozen=True)
class Launch:
    """The --launch options of one command line."""

    name: str | None
    num_processes: int | None
    machine_rank: int | None
    main_process_ip: str | None
    nodes: int | None
    gpus_per_node: int
    dry_run: bool


def register(root: typer.Typer) -> None:
    """Add `train` to the root CLI, and `train` to the shared `report` group."""
    root.add_typer(app, name="train")
    subgroup(root, "report").command("train")(report_train)


def _run_class(kind: str) -> type:
    if kind == "sft":
        from train.sft_config import SFTRunConfig

        return SFTRunConfig
    from train.grpo_config import GRPORunConfig

    return GRPORunConfig


def _configured_run(
    kind: str, config: Path, args: list[str], store: str | None
) -> Callable[[], dict[str, Any]]:
    """The run of `kind` with its config loaded and checked (errors here are the user's)."""
    from train.config_io import load_config

    if kind == "sft":
        from train.sft import run_sft
        from train.sft_config import SFTRunConfig

        return partial(run_sft, load_config(SFTRunConfig, config, args))
    from train.grpo import run_grpo
    from train.grpo_config import GRPORunConfig

    cfg = load_config(GRPORunConfig, config, args)
    if store and not cfg.prompt_difficulty:
        cfg.prompt_difficulty = _export_difficulty(store, cfg.dataset, cfg.output_dir)
    return partial(run_grpo, cfg)


def _launch(kind: str, config: Path, ctx: typer.Context, opts: Launch) -> None:
    from train.config_io import checked_settings
    from train.launch import Cluster, batch_settings, launch_command, plan_launch, run_launched

    assert opts.name is not None
    with user_errors():
        cls = _run_class(kind)
        checked_settings(cls, config)  # typos fail here, not on every GPU
        cluster = (
            Cluster(opts.nodes, opts.gpus_per_node, opts.main_process_ip)
            if opts.nodes
            else Cluster.from_yaml(opts.name, opts.num_processes, opts.main_process_ip)
        )
        settings = batch_settings(cls, config, ctx.args)
        plan = plan_launch(f"train.{kind}", config, ctx.args, opts.name, settings, cluster)
        if opts.dry_run:
            for line in plan.lines():
                console.print(line, highlight=False, soft_wrap=True)
            return
        if opts.nodes and opts.nodes > 1:
            if opts.machine_rank is None or not 0 <= opts.machine_rank < opts.nodes:
                raise InputError(f"--machine-rank: which of the {opts.nodes} nodes this is (0..)")
            cmd = plan.nodes[opts.machine_rank]
        else:
            cmd = launch_command(
                f"train.{kind}", config, ctx.args, opts.name, opts.num_processes,
                opts.machine_rank, opts.main_process_ip,
            )  # fmt: skip
    console.print(" ".join(cmd), highlight=False)
    code = run_launched(cmd)
    if code:
        raise typer.Exit(code)


def _train(
    kind: str, ctx: typer.Context, config: Path, opts: Launch, store: str | None = None
) -> None:
    """Run one method in this process, or under `accelerate launch` with `--launch`."""
    if opts.name:
        _launch(kind, config, ctx, opts)
        return
    if opts.dry_run or opts.nodes:
        with user_errors():
            raise InputError("--dry-run and --nodes go with --launch NAME")
    with user_errors():
        run = _configured_run(kind, config, ctx.args, store)
    summary = run()
    _print_summary(kind, summary)
    if summary.get("empty_steps"):
        err_console.print(
            f"[yellow]warning:[/yellow] {summary['empty_steps']} of {summary['signal_steps']} "
            "steps had no informative group (every group's rewards were equal: no gradient); "
            "per step in signal.jsonl",
            highlight=False,
        )
    if summary.get("stopped"):
        err_console.print(f"[red]stopped:[/red] {summary['stopped']}", highlight=False)
        raise typer.Exit(1)


def _export_difficulty(store: str, dataset: str, output_dir: str | None) -> str | None:
    """The export's seeds' band and pass rate from the store (curate.teachability.rollouts),
    as a file in the run folder; None (with a note) when the store or export has none."""
    from curate.teachability.rollouts import export_difficulty
    from store import Store, StoreError

    try:
        if not Path(dataset, "export.json").exists():
            raise FileNotFoundError(dataset)
        opened = Store.open(store, create=False)
    except (StoreError, FileNotFoundError):
        console.print("export-time pass rates: none (no store or export.json); bands from the "
                      "export", highlight=False)  # fmt: skip
        return None
    try:
        rows = export_difficulty(opened, dataset)
    finally:
        opened.close()
    if rows.height == 0:
        console.print("export-time pass rates: the export names no difficulty run")
        return None
    target = Path(output_dir or ".") / "export_difficulty.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(target)
    console.print(f"export-time bands and pass rates of {rows.height} seeds: {target}")
    return str(target)


def _print_summary(kind: str, summary: dict) -> None:
    shown = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in summary.items()
        if k != "stopped"
    )
    console.print(f"[green]{kind}[/green] {shown}")


@app.command(context_settings=_PASSTHROUGH)
def sft(
    ctx: typer.Context,
    config: Path = ConfigArg,
    launch: str | None = LaunchOption,
    num_processes: int | None = ProcsOption,
    machine_rank: int | None = RankOption,
    main_process_ip: str | None = IpOption,
    nodes: int | None = NodesOption,
    gpus_per_node: int = GpusOption,
    dry_run: bool = DryRunOption,
) -> None:
    """Supervised fine-tuning; flags after CONFIG override any field of the run config.

    Example: teachable train sft cpu_smoke_sft --dataset exports/mix --output_dir runs/sft
    """
    opts = Launch(
        launch, num_processes, machine_rank, main_process_ip, nodes, gpus_per_node, dry_run
    )
    _train("sft", ctx, config, opts)


@app.command(context_settings=_PASSTHROUGH)
def grpo(
    ctx: typer.Context,
    config: Path = ConfigArg,
    launch: str | None = LaunchOption,
    num_processes: int | None = ProcsOption,
    machine_rank: int | None = RankOption,
    main_process_ip: str | None = IpOption,
    nodes: int | None = NodesOption,
    gpus_per_node: int = GpusOption,
    dry_run: bool = DryRunOption,
    store: str = StoreOption,
) -> None:
    """GRPO with the length-aware accuracy reward; flags after CONFIG override the config.

    Records the learning signal (rollouts.jsonl, signal.jsonl) with each prompt's export-time
    band and pass rate, read from --store when it holds the export's mixture.

    Example: teachable train grpo cpu_smoke_grpo --dataset exports/mix --model runs/sft
    """
    opts = Launch(
        launch, num_processes, machine_rank, main_process_ip, nodes, gpus_per_node, dry_run
    )
    _train("grpo", ctx, config, opts, store)


@app.command()
def rollouts(
    run: Path = typer.Argument(..., help="GRPO run folder (rollouts.jsonl).", file_okay=False),
    step: int | None = typer.Option(None, help="Rollouts up to this step; default the last."),
    store: str = StoreOption,
) -> None:
    """Write a GRPO run's rollouts back as a difficulty run of the checkpoint (no model calls).

    Example: teachable train rollouts runs/grpo --store teachable-experiment
    """
    from curate.cli._common import print_counts
    from curate.teachability.rollouts import RolloutBandsConfig, run_rollout_bands

    with open_store(store, create=False) as opened:
        counts = run_rollout_bands(opened, RolloutBandsConfig(run_dir=str(run), step=step))
    print_counts("difficulty (rollouts)", counts)


def report_train(
    run: Path = typer.Argument(..., help="Run folder holding metrics.jsonl.", file_okay=False),
    out: Path | None = typer.Option(None, help="PNG path; default RUN/report.png."),
) -> None:
    """Plot a training run's metrics.

    Example: teachable report train runs/sft
    """
    with user_errors():
        from train.report import plot_run

        path = plot_run(run, out)
    console.print(f"wrote {path}")
