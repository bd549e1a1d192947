"""`teachable review report|recheck`, and what `teachable review push` prints after its counts
(push and pull are stage commands derived from their declarations in quality/review/declare.py).

Connection from LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from curate.cli._common import StoreOption, console, open_store, print_frame, subgroup
from store import Store
from store.tables import REVIEW_TASKS


def print_pushed(store: Store, config: Any, counts: dict[str, int]) -> None:
    """Where the pushed tasks are: the project and its first task."""
    from quality.review.connection import task_url

    tasks = store.sql(
        f"SELECT server, project_id, min(task_id) AS first FROM {REVIEW_TASKS.name} "
        "WHERE project_id = ? GROUP BY ALL",
        [counts["project_id"]],
    )
    for server, project_id, first in tasks.iter_rows():
        console.print(
            f"project {server}/projects/{project_id}, first task "
            f"{task_url(server, project_id, first)}"
        )


def report(
    project: str | None = typer.Option(
        None, "--project", "-p", help="Only this project's reviews."
    ),
    rule: str = typer.Option("majority", help="Resolution rule: majority | any_reject | latest."),
    png: Path | None = typer.Option(None, help="Plot path (default STORE/reports/review.png)."),
    at: str | None = typer.Option(None, "--at", help="Snapshot id or tag to read; default now."),
    store: str = StoreOption,
) -> None:
    """Per-annotator counts, agreement (Cohen's, Fleiss' kappa), verdicts by band (PNG).

    Example: teachable review report --project audit
    """
    from quality.review.report import plot_report, review_report
    from quality.review.resolve import RULES

    if rule not in RULES:
        raise typer.BadParameter(f"one of {', '.join(RULES)}", param_hint="--rule")
    with open_store(store, create=False) as opened:
        result = review_report(opened, project, opened.snapshot_id(at), rule)  # type: ignore[arg-type]
        if result.annotators.height == 0:
            console.print("no reviews yet (teachable review pull --project NAME)")
            return
        print_frame(result.annotators, title="annotators")
        print_frame(result.pairs, title="Cohen's kappa per pair")
        console.print(
            f"Fleiss' kappa {result.fleiss:.3f} over {result.items_multi} items judged by 2+"
        )
        print_frame(result.by_band, title=f"resolved verdicts by band (rule {rule})")
        path = plot_report(result, png or opened.root / "reports" / "review.png")
        console.print(f"plot: {path}")


def recheck(
    rule: str = typer.Option("majority", help="Resolution rule: majority | any_reject | latest."),
    at: str | None = typer.Option(None, "--at", help="Snapshot id or tag to read; default now."),
    store: str = StoreOption,
) -> None:
    """Re-score stored traces and attempts against answers corrected in review (no model calls).

    Example: teachable review recheck
    """
    import polars as pl

    from curate.teachability.difficulty import DifficultyConfig
    from quality.review.recheck import recheck as run_recheck

    with open_store(store, create=False) as opened:
        result = run_recheck(opened, opened.snapshot_id(at), rule)  # type: ignore[arg-type]
        flipped = result.traces.filter(pl.col("correct") != pl.col("correct_after"))
        console.print(f"{result.traces.height} traces on corrected prompts, {flipped.height} flip")
        if flipped.height:
            print_frame(flipped, title="traces whose correctness changes")
        rates = result.pass_rates
        if rates.height:
            bounds = DifficultyConfig().bounds()  # the difficulty stage's default band rule
            after = bounds.band(rates["pass_rate_after"].fill_null(0.0).to_numpy())
            rates = rates.with_columns(band_after=pl.Series(after, dtype=pl.String))
            print_frame(rates, title="weak-model pass rates against the corrected answers")


def register(root: typer.Typer) -> None:
    group = subgroup(root, "review")
    group.command("report")(report)
    group.command("recheck")(recheck)
