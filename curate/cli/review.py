"""`teachable review push|pull|report`: human review in Label Studio.

Connection from LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY. Option help comes from the stage
configs' field docstrings (quality.review.push.PushConfig, pull.PullConfig).
"""

from __future__ import annotations

from pathlib import Path

import typer

from curate.cli._common import StoreOption, console, open_store, print_counts, print_frame

app = typer.Typer(
    help="Human review in Label Studio: push items, pull verdicts.", no_args_is_help=True
)


def _help(config: str, name: str) -> str:
    """A field's docstring from the stage config (the one place a stage's help lives)."""
    from quality.review import pull, push

    model = {"push": push.PushConfig, "pull": pull.PullConfig}[config]
    return model.model_fields[name].description or ""


def _given(**values: object) -> dict[str, object]:
    # only what the user typed reaches the config, so its own defaults and validators apply
    return {k: v for k, v in values.items() if v is not None and v is not False and v != []}


@app.command("push")
def push(
    project: str = typer.Option(..., "--project", "-p", help=_help("push", "project")),
    selection: str | None = typer.Option(None, help=_help("push", "selection")),
    mixture: str | None = typer.Option(None, help=_help("push", "mixture")),
    filter: str | None = typer.Option(None, "--filter", help=_help("push", "filter")),
    filter_passed: bool = typer.Option(
        False, "--filter-passed", help=_help("push", "filter_passed")
    ),
    contaminated: bool = typer.Option(False, "--contaminated", help=_help("push", "contaminated")),
    band: list[str] = typer.Option([], "--band", help=_help("push", "band")),
    sample: int | None = typer.Option(None, help=_help("push", "sample")),
    seed: int | None = typer.Option(None, help=_help("push", "seed")),
    annotators: int | None = typer.Option(None, help=_help("push", "annotators")),
    registry: str | None = typer.Option(None, help=_help("push", "registry")),
    at: str | None = typer.Option(None, "--at", help="Snapshot id or tag to read; default now."),
    store: str = StoreOption,
) -> None:
    """Send items to a Label Studio project as review tasks.

    Example: teachable review push --project audit --selection edge --sample 200
    """
    from quality.review.connection import task_url
    from quality.review.push import PushConfig, run_review_push

    with open_store(store, create=False) as opened:
        config = PushConfig.model_validate(
            _given(
                project=project,
                selection=selection,
                mixture=mixture,
                filter=filter,
                filter_passed=filter_passed,
                contaminated=contaminated,
                band=band,
                sample=sample,
                seed=seed,
                annotators=annotators,
                registry=registry,
                at=at,
            )
        )
        counts = run_review_push(opened, config)
        print_counts("review.push", counts)
        tasks = opened.sql(
            "SELECT server, project_id, min(task_id) AS first FROM review_tasks "
            "WHERE project_id = ? GROUP BY ALL",
            [counts["project_id"]],
        )
        for server, project_id, first in tasks.iter_rows():
            console.print(
                f"project {server}/projects/{project_id}, first task "
                f"{task_url(server, project_id, first)}"
            )


@app.command("pull")
def pull(
    project: str = typer.Option(..., "--project", "-p", help=_help("pull", "project")),
    timeout_s: float | None = typer.Option(None, help=_help("pull", "timeout_s")),
    full: bool = typer.Option(False, "--full", help=_help("pull", "full")),
    store: str = StoreOption,
) -> None:
    """Read a project's annotations into `reviews` (only new or edited ones).

    Example: teachable review pull --project audit
    """
    from quality.review.pull import PullConfig, run_review_pull

    with open_store(store, create=False) as opened:
        config = PullConfig.model_validate(_given(project=project, timeout_s=timeout_s, full=full))
        print_counts("review.pull", run_review_pull(opened, config))


@app.command("report")
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


@app.command("recheck")
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
    root.add_typer(app, name="review")
