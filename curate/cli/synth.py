"""`teachable traces`: sample reasoning traces from a teacher model."""

from __future__ import annotations

import typer

from curate.cli._common import StoreOption, err_console, open_store, print_counts

BUDGET_EXIT_CODE = 3


def traces(
    teacher: str | None = typer.Option(
        None, "--teacher", "-t", help="Model config YAML or embedded model name (default smollm2)."
    ),
    samples: int = typer.Option(1, "--samples", "-n", help="Samples per item."),
    source: str = typer.Option("seeds", "--from", help="Item table: seeds | questions."),
    selection: str | None = typer.Option(None, help="Only items of this named selection."),
    where: str | None = typer.Option(None, help="SQL condition on the item table."),
    limit: int | None = typer.Option(None, help="Only the first N items (by id)."),
    system_prompt: str | None = typer.Option(
        None, "--system-prompt", help="File replacing the built-in reasoning system prompt."
    ),
    max_new: int | None = typer.Option(None, "--max-tokens", help="Max tokens per sample."),
    temperature: float | None = typer.Option(None, help="Override the teacher's temperature."),
    seed: int | None = typer.Option(None, help="Base seed (sample i uses seed + i)."),
    budget_total: int | None = typer.Option(
        None, "--token-budget", help="Stop sending after this many prompt+completion tokens."
    ),
    budget_usd: float | None = typer.Option(None, "--cost-budget", help="Stop at this USD."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    store: str = StoreOption,
) -> None:
    """Sample teacher traces and check their answers. Exit code 3 when a budget stopped the run.

    Example: teachable traces --teacher models/o3-mini.yaml --samples 4 --where "level >= 3"
    """
    from synth.session import set_progress
    from synth.traces import TracesConfig, run_traces

    set_progress(progress)

    with open_store(store) as opened:
        config = TracesConfig(
            teacher=teacher, samples=samples, source=source,  # type: ignore[arg-type]
            selection=selection, where=where, limit=limit,
            system_prompt_file=system_prompt, max_new=max_new, temperature=temperature,
            seed=seed, budget_total=budget_total, budget_usd=budget_usd,
        )  # fmt: skip
        counts = run_traces(opened, config)
        print_counts("traces", counts)
    if counts.get("stopped_by_budget"):
        err_console.print(
            f"[yellow]budget reached:[/yellow] {counts['not_sent']} samples were not sent; "
            f"{counts['traces_inserted']} finished traces were stored. Raise --token-budget or "
            "--cost-budget and re-run to continue (finished samples come from the cache).",
            highlight=False,
        )
        raise typer.Exit(code=BUDGET_EXIT_CODE)
