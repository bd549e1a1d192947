"""`teachable benchmarks list|add` and `teachable report quality`.

The stage commands (decontam, dedup, filter) are derived from their configs in
curate/cli/stages.py.
"""

from __future__ import annotations

from pathlib import Path

import typer

from curate.cli._common import (
    StoreOption,
    console,
    open_store,
    print_frame,
    subgroup,
    user_errors,
)

benchmarks_app = typer.Typer(
    help="The benchmark registry decontamination checks against.", no_args_is_help=True
)
RegistryOption = typer.Option(
    None,
    "--registry",
    "-r",
    help="Registry YAML (default $TEACHABLE_BENCHMARKS or the shipped one).",
)


@benchmarks_app.command("list")
def benchmarks_list(registry: str | None = RegistryOption) -> None:
    """Show registered benchmarks.

    Example: teachable benchmarks list
    """
    from quality.benchmarks.registry import Registry

    with user_errors():
        reg = Registry.load(registry)
        console.print(f"registry: {reg.path}")
        print_frame(reg.summary(), title="benchmarks", max_width=80)


@benchmarks_app.command("add")
def benchmarks_add(
    name: str = typer.Argument(..., help="Benchmark name."),
    source: str = typer.Argument(..., help="JSONL/Parquet/CSV path, or hf:owner/name."),
    text_field: list[str] = typer.Option(
        ["problem"], help="Field(s) holding the text (repeatable)."
    ),
    id_field: str | None = typer.Option("id", help="Field with the item id."),
    answer_field: str | None = typer.Option("answer", help="Field with the answer."),
    split: str = typer.Option("test", help="Split of an hf: source."),
    subset: str | None = typer.Option(None, help="Config name of an hf: source."),
    registry: Path = typer.Option(
        Path("benchmarks.yaml"),
        "--registry",
        "-r",
        help="Registry file to write (created including the shipped one).",
    ),
) -> None:
    """Register a benchmark.

    Example: teachable benchmarks add hmmt hmmt.jsonl -r my.yaml
    """
    from quality.benchmarks.registry import BenchmarkSpec, add_benchmark

    with user_errors():
        spec = BenchmarkSpec(
            source=source,
            text_fields=text_field,
            id_field=id_field,
            answer_field=answer_field,
            split=split,
            subset=subset,
        )
        add_benchmark(registry, name, spec)
    console.print(f"added {name!r} to {registry}")


def report_quality(
    png: Path | None = typer.Option(None, help="Histogram path (default STORE/reports/)."),
    store: str = StoreOption,
) -> None:
    """Hits per benchmark, near-duplicate cluster sizes (PNG), trace verdicts.

    Example: teachable report quality --png clusters.png
    """
    from quality.report import (
        cluster_histogram,
        cluster_sizes,
        contamination_summary,
        verdict_summary,
    )

    with open_store(store, create=False) as opened:
        hits = contamination_summary(opened)
        if hits.height:
            print_frame(hits, title="contamination per benchmark")
        else:
            console.print("no contamination recorded (run `teachable decontam`)")
        verdicts = verdict_summary(opened)
        if verdicts.height:
            print_frame(verdicts, title="trace filter verdicts")
        sizes = cluster_sizes(opened)
        default = opened.local_dir / "reports" / "near_dup_clusters.png"
        path = cluster_histogram(sizes, png or default)
        console.print(f"{sizes.height} near-duplicate clusters; histogram: {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(benchmarks_app, name="benchmarks")
    subgroup(app, "report").command("quality")(report_quality)
