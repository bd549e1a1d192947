"""Shared CLI plumbing: the --store option, clean errors, table printing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from store import DEFAULT_PATH, Store, StoreError

console = Console()
err_console = Console(stderr=True)

StoreOption = typer.Option(
    os.environ.get("TEACHABLE_STORE", DEFAULT_PATH),
    "--store",
    "-s",
    help="Store directory (env TEACHABLE_STORE).",
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures (bad input, busy store, invalid config) into one red line."""
    try:
        yield
    except (ValueError, StoreError, ValidationError, FileNotFoundError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(code=1) from None


@contextmanager
def open_store(path: str, create: bool = True) -> Iterator[Store]:
    with user_errors():
        store = Store.open(path, create=create)
    try:
        with user_errors():
            yield store
    finally:
        store.close()


def print_frame(frame: pl.DataFrame, title: str | None = None, max_width: int = 60) -> None:
    table = Table(title=title, show_lines=False)
    for name in frame.columns:
        table.add_column(name, overflow="fold", max_width=max_width)
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def print_counts(stage: str, counts: dict[str, int]) -> None:
    summary = ", ".join(f"{k}={v}" for k, v in counts.items())
    console.print(f"[green]{stage}[/green] {summary}")


def report_group(app: typer.Typer) -> typer.Typer:
    """The one `teachable report` group that every part adds its report command to."""
    for group in app.registered_groups:
        if group.name == "report" and group.typer_instance is not None:
            return group.typer_instance
    report = typer.Typer(help="Reports over the store and training runs.", no_args_is_help=True)
    app.add_typer(report, name="report")
    return report
