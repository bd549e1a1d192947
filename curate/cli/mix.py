"""`teachable mix build|list` and `teachable export`."""

from __future__ import annotations

import json

import polars as pl
import typer

from curate.cli._common import StoreOption, console, open_store, print_counts, print_frame

app = typer.Typer(help="Build and inspect training mixtures.", no_args_is_help=True)


@app.command("build")
def build(
    recipe: str = typer.Argument(..., help="Mixture recipe YAML."),
    at: str | None = typer.Option(None, "--at", help="Snapshot id or tag to read; default now."),
    store: str = StoreOption,
) -> None:
    """Resolve a recipe at one snapshot. Example: teachable mix build recipes/mixtures/q.yaml"""
    from curate.mixtures.build import MixBuildConfig, run_mix_build

    with open_store(store, create=False) as opened:
        counts = run_mix_build(opened, MixBuildConfig(recipe=recipe, at=at))
        print_counts("mix.build", counts)
        _print_parts(opened.sql("SELECT * FROM mixtures ORDER BY created_at DESC LIMIT 1"))


def _print_parts(mixtures: pl.DataFrame) -> None:
    record = mixtures.row(0, named=True)
    parts = json.loads(record["counts"])
    frame = pl.DataFrame([{"part": name, **values} for name, values in parts.items()])
    print_frame(frame, title=f"{record['name']} at snapshot {record['snapshot_id']}")
    short = frame.filter(pl.col("selected") < pl.col("target"))
    for part, target, selected in short.select("part", "target", "selected").iter_rows():
        console.print(f"[yellow]part {part}: {selected} of {target} rows (not enough candidates)")


@app.command("list")
def list_mixtures(store: str = StoreOption) -> None:
    """Built mixtures, newest first. Example: teachable mix list"""
    with open_store(store, create=False) as opened:
        if not opened.has_table("mixtures"):
            console.print("no mixtures yet (teachable mix build RECIPE)")
            return
        frame = opened.sql(
            "SELECT name, run_id, snapshot_id, seed, items, counts, created_at FROM mixtures "
            "ORDER BY created_at DESC"
        )
        print_frame(frame, title="mixtures")


def export(
    mixture: str = typer.Argument(..., help="Mixture name (latest build) or a build's run id."),
    format: str = typer.Option("parquet", "--format", "-f", help="parquet | jsonl | hf"),
    out: str = typer.Option(..., "--out", "-o", help="Output folder."),
    val_fraction: float = typer.Option(0.05, help="Share of seeds held out for validation."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing export."),
    system_prompt: str | None = typer.Option(None, help="System prompt file (default synth's)."),
    store: str = StoreOption,
) -> None:
    """Export a mixture as chat data. Example: teachable export mix1 --format parquet --out exp"""
    from curate.mixtures.export import ExportConfig, run_export

    with open_store(store, create=False) as opened:
        config = ExportConfig(
            mixture=mixture,
            out=out,
            format=format,  # type: ignore[arg-type]
            val_fraction=val_fraction,
            overwrite=overwrite,
            system_prompt_file=system_prompt,
        )
        print_counts("export", run_export(opened, config))
        console.print(f"wrote {out} (README.md has the dataset card)")
