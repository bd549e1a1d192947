"""`teachable proxy|difficulty|rewrite|select` and `teachable report difficulty`.

teachable proxy --model models/o3-mini.yaml --samples 5
teachable difficulty --weak smollm2 --weak gemma3 --samples 8
teachable select --name edge --band teachable --max-per-source 100
teachable rewrite --model models/o3-mini.yaml --selection edge
teachable report difficulty --out difficulty.png
"""

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
)


def register(app: typer.Typer) -> None:
    """Add the stage commands, and `difficulty` to the shared `report` group."""
    for command in (proxy, difficulty, rewrite, select):
        app.command()(command)
    report_group(app).command("difficulty")(report_difficulty)


def proxy(
    model: str | None = typer.Option(None, help="Strong model: YAML config or embedded name."),
    samples: int = typer.Option(5, help="Samples per seed without a reference answer."),
    min_agreement: float = typer.Option(0.5, help="Below this agreement: unverifiable."),
    max_tokens: int = typer.Option(256, help="Max tokens per sample."),
    where: str | None = typer.Option(None, help="SQL condition on seeds."),
    limit: int | None = typer.Option(None, help="Only the first N seeds (by id)."),
    store: str = StoreOption,
) -> None:
    """Proxy answers: reference, else majority vote. Example: teachable proxy --samples 5"""
    from curate.teachability.proxy import ProxyConfig, run_proxy

    with open_store(store, create=False) as opened:
        config = ProxyConfig(
            model=model,
            samples=samples,
            min_agreement=min_agreement,
            max_tokens=max_tokens,
            where=where,
            limit=limit,
        )
        print_counts("proxy", run_proxy(opened, config))


def difficulty(
    weak: list[str] | None = typer.Option(None, help="Weak model (repeatable); default smollm2."),
    samples: int = typer.Option(8, help="K: samples per seed (the fixed-K cost)."),
    teachable_min: float = typer.Option(0.1, help="Pass rate below this: too_hard."),
    teachable_max: float = typer.Option(0.8, help="Pass rate above this: too_easy."),
    adaptive: bool = typer.Option(True, help="Stop a seed once its band is decided."),
    confidence: float = typer.Option(0.95, help="Adaptive: band probability needed to stop."),
    max_tokens: int = typer.Option(64, help="Max tokens per attempt."),
    prompt_style: str = typer.Option("auto", help="auto | chat | completion (few-shot)."),
    where: str | None = typer.Option(None, help="SQL condition on seeds."),
    limit: int | None = typer.Option(None, help="Only the first N seeds (by id)."),
    store: str = StoreOption,
) -> None:
    """Weak-model pass rates and bands. Example: teachable difficulty --weak smollm2 --samples 8"""
    from curate.teachability.difficulty import DifficultyConfig, run_difficulty

    with open_store(store, create=False) as opened:
        config = DifficultyConfig(
            weak=weak or ["smollm2"],
            samples=samples,
            teachable_min=teachable_min,
            teachable_max=teachable_max,
            adaptive=adaptive,
            confidence=confidence,
            max_tokens=max_tokens,
            prompt_style=prompt_style,  # type: ignore[arg-type]
            where=where,
            limit=limit,
        )
        counts = run_difficulty(opened, config)
        print_counts("difficulty", counts)
        if counts.get("fixed_k_calls"):
            share = counts["calls"] / counts["fixed_k_calls"]
            console.print(
                f"calls {counts['calls']} of fixed-K {counts['fixed_k_calls']} ({share:.0%})"
            )


def rewrite(
    model: str | None = typer.Option(None, help="Rewriter: YAML config or embedded name."),
    solver: str | None = typer.Option(None, help="Independent solver; default the rewriter."),
    solve_samples: int = typer.Option(1, help="Solver samples per rewritten question."),
    selection: str | None = typer.Option(None, help="Only seeds of this named selection."),
    where: str | None = typer.Option(None, help="SQL condition on seeds."),
    limit: int | None = typer.Option(None, help="Only the first N seeds (by id)."),
    store: str = StoreOption,
) -> None:
    """Rewrite into short-answer questions. Example: teachable rewrite --selection edge"""
    from curate.teachability.rewrite import RewriteConfig, run_rewrite

    with open_store(store, create=False) as opened:
        config = RewriteConfig(
            model=model,
            solver=solver,
            solve_samples=solve_samples,
            selection=selection,
            where=where,
            limit=limit,
        )
        print_counts("rewrite", run_rewrite(opened, config))


def select(
    name: str = typer.Option(..., help="Selection name."),
    band: list[str] | None = typer.Option(None, help="Band (repeatable); default teachable."),
    domain: list[str] | None = typer.Option(None, help="Domain (repeatable)."),
    source: list[str] | None = typer.Option(None, help="Source (repeatable)."),
    model: list[str] | None = typer.Option(None, help="Weak model name (repeatable); default all."),
    max_per_source: int | None = typer.Option(None, help="Cap per source."),
    store: str = StoreOption,
) -> None:
    """Record a named selection at this snapshot. Example: teachable select --name edge"""
    from curate.teachability.select import SelectConfig, run_select

    with open_store(store, create=False) as opened:
        config = SelectConfig(
            name=name,
            bands=band or ["teachable"],
            domains=domain,
            sources=source,
            models=model,
            max_per_source=max_per_source,
        )
        print_counts("select", run_select(opened, config))


def report_difficulty(
    out: Path = typer.Option(Path("difficulty.png"), help="PNG to write."),
    at: str | None = typer.Option(None, help="Snapshot id or tag."),
    store: str = StoreOption,
) -> None:
    """Pass-rate histograms and band counts. Example: teachable report difficulty --out d.png"""
    from curate.teachability.report import difficulty_report

    with open_store(store, create=False) as opened:
        table, png = difficulty_report(opened, out, at)
        print_frame(table, title="difficulty per weak model and source")
        console.print(f"wrote {png}")
