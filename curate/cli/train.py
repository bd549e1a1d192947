"""`teachable train sft|grpo CONFIG [--flag value ...]` and `teachable report train RUN`.

Thin shells over train.sft / train.grpo / train.report, imported lazily so the CLI starts
without torch. Flags after CONFIG override the YAML (any field of the run config, TRL's own
included: `--max_steps 20 --learning_rate 2e-5 --deepspeed zero3`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from curate.cli._common import console, user_errors

app = typer.Typer(help="SFT and GRPO on an exported mixture (TRL).", no_args_is_help=True)

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
ConfigArg = typer.Argument(..., help="Run config YAML (may name a preset).", dir_okay=False)


def register(root: typer.Typer) -> None:
    """Add `train` to the root CLI, and `train` to its `report` group (shared with other parts:
    of two groups of one name, the CLI shows the last, so join that one)."""
    root.add_typer(app, name="train")
    groups = [g.typer_instance for g in root.registered_groups if g.name == "report"]
    report = groups[-1] if groups else None
    if report is None:
        report = typer.Typer(help="Reports over the store and runs.", no_args_is_help=True)
        root.add_typer(report, name="report")
    report.command("train")(report_train)


def _print_summary(kind: str, summary: dict) -> None:
    shown = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()
    )
    console.print(f"[green]{kind}[/green] {shown}")


@app.command(context_settings=_PASSTHROUGH)
def sft(ctx: typer.Context, config: Path = ConfigArg) -> None:
    """Supervised fine-tuning. Example: teachable train sft train/presets/cpu_smoke_sft.yaml
    --dataset exports/mix --output_dir runs/sft"""
    with user_errors():
        from train.config_io import load_config
        from train.sft import run_sft
        from train.sft_config import SFTRunConfig

        cfg = load_config(SFTRunConfig, config, ctx.args)
    _print_summary("sft", run_sft(cfg))


@app.command(context_settings=_PASSTHROUGH)
def grpo(ctx: typer.Context, config: Path = ConfigArg) -> None:
    """GRPO with the length-aware accuracy reward. Example: teachable train grpo
    train/presets/cpu_smoke_grpo.yaml --dataset exports/mix --model runs/sft"""
    with user_errors():
        from train.config_io import load_config
        from train.grpo import run_grpo
        from train.grpo_config import GRPORunConfig

        cfg = load_config(GRPORunConfig, config, ctx.args)
    _print_summary("grpo", run_grpo(cfg))


def report_train(
    run: Path = typer.Argument(..., help="Run folder holding metrics.jsonl.", file_okay=False),
    out: Path | None = typer.Option(None, help="PNG path; default RUN/report.png."),
) -> None:
    """Plot a training run's metrics. Example: teachable report train runs/sft"""
    with user_errors():
        from train.report import plot_run

        path = plot_run(run, out)
    console.print(f"wrote {path}")
