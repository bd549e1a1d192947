"""`teachable report eval`: eval summaries as a table and a PNG, or a paired comparison; and
the summary `teachable eval` prints after its run. Eval modules are imported lazily."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from curate.cli._common import StoreOption, console, open_store, print_frame, subgroup


def register(root: typer.Typer) -> None:
    subgroup(root, "report").command("eval")(report_eval)


def print_eval(store: Any, config: Any, counts: dict[str, int]) -> None:
    """After `teachable eval`: the summaries of the model and benchmarks just evaluated."""
    from curate.evaluation.report import eval_table, formatted_table
    from curate.evaluation.stage import eval_summary

    rows = eval_summary(store, config)
    if rows.height == 0:
        console.print(
            "[yellow]no complete benchmark to summarize yet[/yellow]: re-run to finish the "
            "missing samples (finished ones are cached)"
        )
        return
    print_frame(formatted_table(eval_table(rows)), title="eval")


def report_eval(
    out: Path = typer.Option(Path("eval.png"), "--out", "-o", help="PNG path."),
    benchmark: list[str] | None = typer.Option(
        None, "--benchmark", "-b", help="Only these benchmarks (repeatable)."
    ),
    model: list[str] | None = typer.Option(
        None, "--model", "-m", help="Only these models: label or hash (repeatable)."
    ),
    compare: tuple[str, str] | None = typer.Option(
        None, "--compare", help="Paired comparison of model A with B on their common items."
    ),
    at: str | None = typer.Option(None, help="Snapshot id or tag to read at."),
    store: str = StoreOption,
) -> None:
    """Eval summaries (avg@N with 95% interval, maj@N, pass@N) as a table and a bar chart.

    Example: teachable report eval --out eval.png; teachable report eval --compare sft base
    """
    from curate.evaluation.report import compare as paired
    from curate.evaluation.report import (
        current,
        eval_plot,
        eval_table,
        formatted_comparison,
        formatted_table,
    )

    with open_store(store, create=False) as opened:
        if compare:
            frame = paired(opened, compare[0], compare[1], benchmarks=benchmark or None, at=at)
            title = f"{compare[0]} - {compare[1]}, paired on items"
            print_frame(formatted_comparison(frame), title=title)
            return
        summaries = current(opened, at, benchmark or None, model or None)
        print_frame(formatted_table(eval_table(summaries)), title="eval")
        console.print(f"wrote {eval_plot(summaries, out)}")
