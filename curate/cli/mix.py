"""`teachable mix list`, and what `teachable mix build` and `teachable export` print after
their counts (both commands are derived from their stage configs in curate/cli/stages.py)."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import typer

from curate.cli._common import StoreOption, console, open_store, print_frame, subgroup
from store import Store
from store.tables import MIXTURES


def register(app: typer.Typer) -> None:
    subgroup(app, "mix").command("list")(list_mixtures)


def print_built(store: Store, config: Any, counts: dict[str, int]) -> None:
    """Parts of the mixture just built, and the parts that got fewer rows than their target."""
    mixtures = store.sql("SELECT * FROM mixtures ORDER BY created_at DESC LIMIT 1")
    record = mixtures.row(0, named=True)
    parts = json.loads(record["counts"])
    frame = pl.DataFrame([{"part": name, **values} for name, values in parts.items()])
    print_frame(frame, title=f"{record['name']} at snapshot {record['snapshot_id']}")
    short = frame.filter(pl.col("selected") < pl.col("target"))
    for part, target, selected in short.select("part", "target", "selected").iter_rows():
        console.print(f"[yellow]part {part}: {selected} of {target} rows (not enough candidates)")


def print_exported(store: Store, config: Any, counts: dict[str, int]) -> None:
    console.print(f"wrote {config.out} (README.md has the dataset card)")


def list_mixtures(store: str = StoreOption) -> None:
    """Built mixtures, newest first.

    Example: teachable mix list
    """
    with open_store(store, create=False) as opened:
        if not opened.has_table(MIXTURES):
            console.print("no mixtures yet (teachable mix build RECIPE)")
            return
        frame = opened.sql(
            "SELECT name, run_id, snapshot_id, seed, items, counts, created_at FROM mixtures "
            "ORDER BY created_at DESC"
        )
        print_frame(frame, title="mixtures")
