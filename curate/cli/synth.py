"""What `teachable traces` does after its counts: a budget stop is a clear message and exit
code 3. The command itself is derived from its declaration (synth/declare.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from curate.cli._common import err_console
from store import Store

BUDGET_EXIT_CODE = 3


def stop_on_budget(store: Store, config: Any, counts: dict[str, int]) -> None:
    if counts.get("stopped_by_budget"):
        err_console.print(
            f"[yellow]budget reached:[/yellow] {counts['not_sent']} samples were not sent; "
            f"{counts['traces_inserted']} finished traces were stored. Raise --token-budget or "
            "--cost-budget and re-run to continue (finished samples come from the cache).",
            highlight=False,
        )
        raise typer.Exit(code=BUDGET_EXIT_CODE)


def __getattr__(name: str) -> Callable[..., None]:
    """`traces`: the command function, built from TracesConfig on first use (so importing this
    module does not import the stage)."""
    if name == "traces":
        from curate.cli.stages import command_function
        from synth.declare import TRACES_STAGE

        return command_function(TRACES_STAGE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
