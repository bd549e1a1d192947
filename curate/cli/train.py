"""`teachable train sft|grpo CONFIG [--flag value ...]` and `teachable report train RUN`.

Thin shells over train.sft / train.grpo / train.report, imported lazily so the CLI starts
without torch. Flags after CONFIG override the YAML (any field of the run config, TRL's own
included: `--max_steps 20 --learning_rate 2e-5 --deepspeed zero3`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from curate.cli._common import console, subgroup, user_errors

app = typer.Typer(help="SFT and GRPO on an exported mixture (TRL).", no_args_is_help=True)

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
ConfigArg = typer.Argument(..., help="Run config YAML, or a preset name.", dir_okay=False)
LaunchOption = typer.Option(
    None, help="Run under `accelerate launch` with train/accelerate/NAME.yaml (zero2, zero3, ...)."
)
ProcsOption = typer.Option(None, "--num-processes", help="With --launch: processes (GPUs).")
RankOption = typer.Option(None, "--machine-rank", help="With --launch: this node's rank.")
IpOption = typer.Option(None, "--main-process-ip", help="With --launch: the first node's address.")


def register(root: typer.Typer) -> None:
    """Add `train` to the root CLI, and `train` to the shared `report` group."""
    root.add_typer(app, name="train")
    subgroup(root, "report").command("train")(report_train)


def _launch(
    kind: str,
    config: Path,
    ctx: typer.Context,
    launch: str,
    num_processes: int | None,
    machine_rank: int | None,
    main_process_ip: str | None,
) -> None:
    from train.config_io import checked_settings
    from train.launch import launch_command, run_launched

    with user_errors():
        if kind == "sft":
            from train.sft_config import SFTRunConfig as cls
        else:
            from train.grpo_config import GRPORunConfig as cls
        checked_settings(cls, config)  # typos fail here, not on every GPU
        cmd = launch_command(
            f"train.{kind}", config, ctx.args, launch, num_processes, machine_rank, main_process_ip
        )
    console.print(" ".join(cmd), highlight=False)
    code = run_launched(cmd)
    if code:
        raise typer.Exit(code)


def _train(
    kind: str,
    ctx: typer.Context,
    config: Path,
    launch: str | None,
    num_processes: int | None,
    machine_rank: int | None,
    main_process_ip: str | None,
) -> None:
    """Run one method in this process, or under `accelerate launch` with `--launch`."""
    if launch:
        _launch(kind, config, ctx, launch, num_processes, machine_rank, main_process_ip)
        return
    with user_errors():
        from train.config_io import load_config

        if kind == "sft":
            from train.sft import run_sft as run
            from train.sft_config import SFTRunConfig as cls
        else:
            from train.grpo import run_grpo as run
            from train.grpo_config import GRPORunConfig as cls
        cfg = load_config(cls, config, ctx.args)
    _print_summary(kind, run(cfg))


def _print_summary(kind: str, summary: dict) -> None:
    shown = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()
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
) -> None:
    """Supervised fine-tuning; flags after CONFIG override any field of the run config.

    Example: teachable train sft cpu_smoke_sft --dataset exports/mix --output_dir runs/sft
    """
    _train("sft", ctx, config, launch, num_processes, machine_rank, main_process_ip)


@app.command(context_settings=_PASSTHROUGH)
def grpo(
    ctx: typer.Context,
    config: Path = ConfigArg,
    launch: str | None = LaunchOption,
    num_processes: int | None = ProcsOption,
    machine_rank: int | None = RankOption,
    main_process_ip: str | None = IpOption,
) -> None:
    """GRPO with the length-aware accuracy reward; flags after CONFIG override the config.

    Example: teachable train grpo cpu_smoke_grpo --dataset exports/mix --model runs/sft
    """
    _train("grpo", ctx, config, launch, num_processes, machine_rank, main_process_ip)


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
