"""`teachable seeds list|show`: inspect the seeds in the store."""

from __future__ import annotations

import polars as pl
import typer

from curate.cli._common import StoreOption, console, open_store, print_frame, subgroup
from store.tables import SEED_SOURCES, SEEDS


def register(app: typer.Typer) -> None:
    """`seeds list|show`; `seeds add|synth` are stage commands (curate/cli/stages.py)."""
    group = subgroup(app, "seeds")
    group.command("list")(list_seeds)
    group.command("show")(show)


def list_seeds(
    limit: int = typer.Option(20, help="Rows to show."),
    source: str | None = typer.Option(None, help="Only this source."),
    at: str | None = typer.Option(None, help="Snapshot id or tag."),
    store: str = StoreOption,
) -> None:
    """Show seeds and per-source counts.

    Example: teachable seeds list --source gsm8k
    """
    with open_store(store, create=False) as opened:
        seeds = opened.table(SEEDS, at=at)
        if source:
            seeds = seeds.filter(pl.col("source") == source)
        counts = seeds.group_by("source").agg(
            pl.len().alias("seeds"), pl.col("answer").is_not_null().sum().alias("with_answer")
        )
        print_frame(counts.sort("source"), title="seeds per source")
        print_frame(
            seeds.head(limit).select("seed_id", "source", "level", "problem", "answer"),
            max_width=50,
        )


def show(
    seed_id: str = typer.Argument(..., help="Seed id (a unique prefix is enough)."),
    store: str = StoreOption,
) -> None:
    """Print one seed with its provenance.

    Example: teachable seeds show 3fa2c1
    """
    with open_store(store, create=False) as opened:
        seeds = opened.table(SEEDS).filter(pl.col("seed_id").str.starts_with(seed_id))
        if seeds.height != 1:
            raise typer.BadParameter(f"{seeds.height} seeds match '{seed_id}'")
        for key, value in seeds.row(0, named=True).items():
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
        sources = opened.table(SEED_SOURCES).filter(pl.col("seed_id") == seeds["seed_id"][0])
        print_frame(sources.select("source", "source_ref", "run_id"), title="provenance")
