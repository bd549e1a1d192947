"""The `teachable` command line.

teachable init                          # create ./teachable-data
teachable seeds synth --count 200       # procedurally generated seeds
teachable seeds add data.jsonl --name mine
teachable run recipes/quickstart.yaml   # the whole pipeline from a recipe
teachable log                           # snapshots and the runs that made them
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from curate.cli import evaluation, mix, quality, seeds, stages, teach
from curate.cli import review as review_cli
from curate.cli import stages as stages_cli
from curate.cli import store as store_cli
from curate.cli import train as train_cli
from curate.cli._common import (
    StoreOption,
    console,
    open_store,
    print_counts,
    print_frame,
    set_json,
    user_errors,
)
from store import Store

app = typer.Typer(
    help="Curate teachable seeds and build verified reasoning datasets.",
    no_args_is_help=True,
    # a crash prints through sys.excepthook, which `store` wraps with the secrets scrubber
    pretty_exceptions_enable=False,
)


@app.callback()
def _output(
    json_lines: bool = typer.Option(
        False,
        "--json",
        help="Machine-readable output: counts and tables as JSON lines on stdout, everything "
        "else on stderr (env TEACHABLE_JSON=1 does the same).",
    ),
) -> None:
    set_json(json_lines)


@app.command()
def init(
    path: str = typer.Argument(
        "teachable-data", help="Store directory, or a postgresql:// connection string."
    ),
    data_path: str | None = typer.Option(
        None,
        "--data-path",
        help="PostgreSQL store: folder or s3:// prefix for its data files "
        "(env TEACHABLE_DATA_PATH).",
    ),
) -> None:
    """Create (or open) a store.

    Example: teachable init ./teachable-data
    Example: teachable init postgresql://me@db/lake --data-path s3://bucket/lake/
    """
    with user_errors():
        store = Store.open(path, data_path=data_path)
    with store:
        console.print(f"store ready at {store.name} (snapshot {store.snapshot()})")


@app.command()
def log(
    limit: int = typer.Option(20, help="Snapshots to show."),
    runs: bool = typer.Option(False, "--runs", help="Show every run attempt, failed ones too."),
    store: str = StoreOption,
) -> None:
    """Snapshots with the runs that made them.

    Example: teachable log --runs
    """
    with open_store(store, create=False) as opened:
        if runs:
            frame = opened.runs().select(
                "run_id",
                "stage",
                "status",
                "input_snapshot",
                "output_snapshot",
                "counts",
                "error",
            )
            print_frame(frame.tail(limit), title="runs")
            return
        frame = (
            opened.log()
            .head(limit)
            .with_columns(
                pl.col("snapshot_time").dt.strftime("%Y-%m-%d %H:%M:%S"),
                pl.col("duration_s").round(2),
            )
        )
        print_frame(frame, title=f"store {opened.name}")


@app.command()
def tag(
    name: str = typer.Argument(..., help="Tag name."),
    snapshot: str | None = typer.Option(None, help="Snapshot id or tag; default current."),
    note: str = typer.Option("", help="Free-text note."),
    store: str = StoreOption,
) -> None:
    """Name a snapshot.

    Example: teachable tag v1 --snapshot 12
    """
    with open_store(store, create=False) as opened:
        target = opened.tag(name, snapshot, note=note)
        console.print(f"tagged snapshot {target} as {name!r}")


@app.command()
def run(
    recipe: Path = typer.Argument(..., help="Recipe YAML.", exists=True, dir_okay=False),
    store: str | None = typer.Option(None, "--store", "-s", help="Overrides the recipe's store."),
    engine: stages_cli.EngineChoice | None = typer.Option(
        None, "--engine", help="Overrides the recipe's `engine:` (local, ray).", show_default=False
    ),
) -> None:
    """Run every stage of a recipe in order.

    Example: teachable run recipes/quickstart.yaml
    """
    from curate.pipeline import load_recipe, run_stage

    with user_errors():
        recipe_store, stages = load_recipe(recipe)
    stages_cli._set_engine(engine)
    path = store or recipe_store or StoreOption.default
    with open_store(path) as opened:
        console.print(f"[bold]{recipe}[/bold]: {len(stages)} stages into {opened.name}")
        for index, (name, config) in enumerate(stages, start=1):
            console.rule(f"[{index}/{len(stages)}] {name}")
            print_counts(name, run_stage(opened, name, config))
        console.print(f"[green]done[/green] at snapshot {opened.snapshot()}")


# every stage of curate.pipeline.STAGES (derived from its config), then the hand-written commands
for part in (stages, seeds, teach, quality, mix, train_cli, evaluation, review_cli, store_cli):
    part.register(app)
