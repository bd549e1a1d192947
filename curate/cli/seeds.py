"""`teachable seeds add|synth|list|show`."""

from __future__ import annotations

import polars as pl
import typer

from curate.cli._common import StoreOption, console, open_store, print_counts, print_frame

app = typer.Typer(help="Ingest, generate and inspect seed prompts.", no_args_is_help=True)


@app.command("add")
def add(
    source: str = typer.Argument(..., help="File, save_to_disk folder, or hf:owner/name[:config]."),
    name: str = typer.Option(..., "--name", "-n", help="Source name recorded with each seed."),
    domain: str = typer.Option("math", help="Domain of these seeds."),
    problem_field: str | None = typer.Option(None, help="Field holding the problem."),
    answer_field: str | None = typer.Option(None, help="Field holding the answer/solution."),
    id_field: str | None = typer.Option(None, help="Field used as the source row reference."),
    split: str | None = typer.Option(None, help="Split of a dataset folder or hf: source."),
    limit: int | None = typer.Option(None, help="Ingest only the first N records."),
    on_error: str = typer.Option("fail", help="fail | skip (bad rows go to `rejects`)."),
    license: str | None = typer.Option(None, help="License or notes for this source."),
    store: str = StoreOption,
) -> None:
    """Ingest seeds. Example: teachable seeds add gsm8k_train.jsonl --name gsm8k"""
    from curate.seeds.ingest import IngestConfig, run_ingest

    with open_store(store) as opened:
        config = IngestConfig(
            source=source,
            name=name,
            domain=domain,
            problem_field=problem_field,
            answer_field=answer_field,
            id_field=id_field,
            split=split,
            limit=limit,
            on_error=on_error,
            license=license,  # type: ignore[arg-type]
        )
        print_counts("seeds.add", run_ingest(opened, config))


@app.command("synth")
def synth(
    count: int = typer.Option(100, help="Number of distinct problems."),
    seed: int = typer.Option(0, help="Generator seed."),
    family: list[str] | None = typer.Option(None, help="Families (repeatable); default all."),
    level: list[int] | None = typer.Option(None, help="Levels 1-5 (repeatable); default all."),
    store: str = StoreOption,
) -> None:
    """Generate math seeds with exact answers. Example: teachable seeds synth --count 200"""
    from curate.synthetic.generate import SynthConfig, run_synth

    with open_store(store) as opened:
        fields: dict[str, object] = {"count": count, "seed": seed}
        if family:
            fields["families"] = family
        if level:
            fields["levels"] = level
        print_counts("seeds.synth", run_synth(opened, SynthConfig(**fields)))


@app.command("list")
def list_seeds(
    limit: int = typer.Option(20, help="Rows to show."),
    source: str | None = typer.Option(None, help="Only this source."),
    at: str | None = typer.Option(None, help="Snapshot id or tag."),
    store: str = StoreOption,
) -> None:
    """Show seeds and per-source counts. Example: teachable seeds list --source gsm8k"""
    with open_store(store, create=False) as opened:
        seeds = opened.table("seeds", at=at)
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


@app.command("show")
def show(
    seed_id: str = typer.Argument(..., help="Seed id (a unique prefix is enough)."),
    store: str = StoreOption,
) -> None:
    """Print one seed with its provenance. Example: teachable seeds show 3fa2c1"""
    with open_store(store, create=False) as opened:
        seeds = opened.table("seeds").filter(pl.col("seed_id").str.starts_with(seed_id))
        if seeds.height != 1:
            raise typer.BadParameter(f"{seeds.height} seeds match '{seed_id}'")
        for key, value in seeds.row(0, named=True).items():
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
        sources = opened.table("seed_sources").filter(pl.col("seed_id") == seeds["seed_id"][0])
        print_frame(sources.select("source", "source_ref", "run_id"), title="provenance")
