"""Shared CLI plumbing: the --store option, clean errors, table printing, shared groups."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import polars as pl
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from store import DEFAULT_PATH, Store, TeachableError
from store.secrets import scrub

console = Console()
err_console = Console(stderr=True)

JSON_ENV = "TEACHABLE_JSON"  # 1: as if every command had --json


def set_json(on: bool) -> None:
    """Machine-readable output: counts and tables become JSON lines on stdout, and everything
    else the CLI prints (notes, warnings, reports' prose) goes to stderr, so stdout parses."""
    console.stderr = on or os.environ.get(JSON_ENV, "") not in ("", "0")


def json_output() -> bool:
    return console.stderr


def _json_line(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


StoreOption = typer.Option(
    os.environ.get("TEACHABLE_STORE", DEFAULT_PATH),
    "--store",
    "-s",
    help="Store directory, or postgresql:// connection string (env TEACHABLE_STORE).",
    # the environment's value may be a connection string with a password: never echo it
    show_default=f"env TEACHABLE_STORE, else {DEFAULT_PATH}",
)


# the groups several modules add commands to: name -> help
GROUPS = {
    "seeds": "Ingest, generate and inspect seed prompts.",
    "mix": "Build and inspect training mixtures.",
    "report": "Reports over the store and training runs.",
    "review": "Human review in Label Studio: push items, pull verdicts.",
}


def one_line(exc: ValidationError, label: Callable[[str], str] = str) -> str:
    """`where: message; ...` (pydantic's own text spans lines and links to its docs);
    `label` turns a field name into what the user typed (an option name)."""
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        where = ".".join([label(loc[0]), *loc[1:]]) if loc else ""
        msg = error["msg"].removeprefix("Value error, ")  # a validator's own words
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


# a path the user typed that is missing, a folder, not a folder or not readable
_PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def user_message(exc: BaseException) -> str | None:
    """The one line to print for an error the user can fix, or None for an internal bug (which
    prints as a scrubbed traceback, so a bug never passes for bad input)."""
    if isinstance(exc, ValidationError):
        text = one_line(exc)
    elif isinstance(exc, TeachableError):
        text = str(exc)
    elif isinstance(exc, _PATH_ERRORS) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or type(exc).__name__}"
    else:
        return None
    return scrub(text).strip() or type(exc).__name__


@contextmanager
def user_errors() -> Iterator[None]:
    """Print an error the user can fix (TeachableError, an invalid config, a bad path) as one
    red line and exit 1; anything else propagates as a traceback (scrubbed by store.secrets)."""
    try:
        yield
    except Exception as exc:
        text = user_message(exc)
        if text is None:
            raise
        err_console.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)
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
    """A table of `frame`; every name and value is text, never markup (`pass@1[avg]`). With
    --json: one line `{"title": ..., "rows": [{column: value}, ...]}`."""
    if json_output():
        _json_line({"title": title, "rows": frame.to_dicts()})
        return
    table = Table(title=escape(title) if title else None, show_lines=False)
    terminal = console.is_terminal
    for name in frame.columns:  # piped: cells are not folded, so scripts read whole values
        table.add_column(
            escape(name),
            overflow="fold" if terminal else "ignore",
            max_width=max_width if terminal else None,
            no_wrap=not terminal,
        )
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else escape(str(v)) for v in row))
    if terminal:
        console.print(table)
        return
    width = console.width  # piped: as wide as the values need (80 columns would crop them)
    console.width = 100_000
    try:
        console.print(table)
    finally:
        console.width = width


def print_counts(stage: str, counts: dict[str, int]) -> None:
    """`stage k=v, ...` on one line, never wrapped (scripts grep it); with --json the line
    `{"stage": ..., "counts": {...}}`."""
    if json_output():
        _json_line({"stage": stage, "counts": counts})
        return
    summary = ", ".join(f"{k}={v}" for k, v in counts.items())
    console.print(f"[green]{escape(stage)}[/green] {escape(summary)}", soft_wrap=True)


def subgroup(app: typer.Typer, name: str) -> typer.Typer:
    """The one `teachable NAME` group that several modules add commands to (help from GROUPS;
    a group only new stages use gets a plain one)."""
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    created = typer.Typer(help=GROUPS.get(name, f"The {name} commands."), no_args_is_help=True)
    app.add_typer(created, name=name)
    return created
