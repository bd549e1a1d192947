"""`teachable benchmarks list|add`, `decontam`, `dedup`, `filter`, `report quality`."""

from __future__ import annotations

from pathlib import Path

import typer

from curate.cli._common import (
    StoreOption,
    console,
    open_store,
    print_counts,
    print_frame,
    report_group,
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
    """Show registered benchmarks. Example: teachable benchmarks list"""
    from quality.benchmarks import Registry

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
    """Register a benchmark. Example: teachable benchmarks add hmmt hmmt.jsonl -r my.yaml"""
    from quality.benchmarks import BenchmarkSpec, add_benchmark

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


def decontam(
    registry: str | None = RegistryOption,
    benchmark: list[str] | None = typer.Option(
        None, "--benchmark", "-b", help="Only these (repeatable)."
    ),
    n: int = typer.Option(13, help="Words per n-gram."),
    min_matches: int = typer.Option(1, help="Shared n-grams that flag an item."),
    threshold: float = typer.Option(0.5, help="MinHash Jaccard threshold."),
    no_minhash: bool = typer.Option(False, "--no-minhash", help="n-gram check only."),
    traces: bool = typer.Option(False, "--traces", help="Also check traces (reasoning, answer)."),
    store: str = StoreOption,
) -> None:
    """Flag items overlapping benchmarks. Example: teachable decontam -b math500 -b aime24"""
    from quality.decontam import DecontamConfig, run_decontam

    with open_store(store) as opened:
        config = DecontamConfig(
            registry=registry,
            benchmarks=benchmark or None,
            n=n,
            min_matches=min_matches,
            threshold=threshold,
            minhash=not no_minhash,
            include_traces=traces,
        )
        print_counts("decontam", run_decontam(opened, config))


def dedup(
    table: str = typer.Option("seeds", help="Table to cluster."),
    threshold: float = typer.Option(0.85, help="MinHash Jaccard threshold."),
    shingle: int = typer.Option(5, help="Words per shingle."),
    store: str = StoreOption,
) -> None:
    """Cluster near-duplicates, keep the earliest. Example: teachable dedup --table seeds"""
    from quality.dedup import DedupConfig, run_dedup

    with open_store(store) as opened:
        config = DedupConfig(table=table, threshold=threshold, shingle=shingle)
        print_counts("dedup", run_dedup(opened, config))


def filter_(
    only: list[str] | None = typer.Option(None, "--filter", "-f", help="Only these (repeatable)."),
    max_tokens: int = typer.Option(32_768, help="Longest completion kept."),
    max_repetition: float = typer.Option(0.3, help="Highest repeated 10-gram ratio kept."),
    rejudge: bool = typer.Option(False, help="Judge traces that already have a verdict."),
    store: str = StoreOption,
) -> None:
    """Judge traces into `verdicts`. Example: teachable filter -f not_truncated -f repetition"""
    from quality.filters import FilterConfig, run_filter

    with open_store(store) as opened:
        fields: dict[str, object] = {
            "max_tokens": max_tokens,
            "max_repetition": max_repetition,
            "rejudge": rejudge,
        }
        if only:
            fields["filters"] = only
        print_counts("filter", run_filter(opened, FilterConfig.model_validate(fields)))


def report_quality(
    png: Path | None = typer.Option(None, help="Histogram path (default STORE/reports/)."),
    store: str = StoreOption,
) -> None:
    """Hits per benchmark, cluster sizes (PNG), verdicts. Example: teachable report quality"""
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
        path = cluster_histogram(sizes, png or opened.root / "reports" / "near_dup_clusters.png")
        console.print(f"{sizes.height} near-duplicate clusters; histogram: {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(benchmarks_app, name="benchmarks")
    report_group(app).command("quality")(report_quality)
    app.command("decontam")(decontam)
    app.command("dedup")(dedup)
    app.command("filter")(filter_)
