"""`teachable report difficulty`, and what `teachable difficulty` prints after its counts.

The stage commands (proxy, difficulty, rewrite, select) are derived from their configs in
curate/cli/stages.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from curate.cli._common import StoreOption, console, open_store, print_frame, subgroup
from store import Store


def register(app: typer.Typer) -> None:
    subgroup(app, "report").command("difficulty")(report_difficulty)


def print_call_share(store: Store, config: Any, counts: dict[str, int]) -> None:
    """What adaptive sampling saved: model calls made against the fixed-K cost."""
    if counts.get("fixed_k_calls"):
        share = counts["calls"] / counts["fixed_k_calls"]
        console.print(f"calls {counts['calls']} of fixed-K {counts['fixed_k_calls']} ({share:.0%})")


def report_difficulty(
    out: Path = typer.Option(Path("difficulty.png"), help="PNG to write."),
    at: str | None = typer.Option(None, help="Snapshot id or tag."),
    store: str = StoreOption,
) -> None:
    """Pass-rate histograms and band counts.

    Example: teachable report difficulty --out d.png
    """
    from curate.teachability.report import difficulty_report

    with open_store(store, create=False) as opened:
        table, png = difficulty_report(opened, out, at)
        print_frame(table, title="difficulty per weak model and source")
        console.print(f"wrote {png}")
