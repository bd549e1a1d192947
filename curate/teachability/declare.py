"""The teachability stages (store.stage.Stage): proxy, difficulty, rewrite and select. Each
one's recipe stage, `teachable` command and preflight come from its declaration here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.stage import Stage

if TYPE_CHECKING:
    from curate.teachability.difficulty import DifficultyConfig
    from curate.teachability.proxy import ProxyConfig
    from curate.teachability.rewrite import RewriteConfig
    from quality.benchmarks.check import HubProbe


def check_proxy(config: ProxyConfig, hub: HubProbe) -> list[str]:
    from synth.preflight import model_problems

    return model_problems(config.model)


def check_difficulty(config: DifficultyConfig, hub: HubProbe) -> list[str]:
    from synth.preflight import models_problems

    return models_problems(config.weak)


def check_rewrite(config: RewriteConfig, hub: HubProbe) -> list[str]:
    from synth.preflight import models_problems

    # solver None means "the rewriter model", already checked
    return models_problems([config.model, *([config.solver] if config.solver is not None else [])])


PROXY_STAGE = Stage(
    "proxy",
    config="curate.teachability.proxy:ProxyConfig",
    run="curate.teachability.proxy:run_proxy",
    help="Proxy answers: the reference, else a strong model's majority vote.",
    example="teachable proxy --model models/o3-mini.yaml --samples 5",
    check=check_proxy,
    extras=("progress", "engine"),
)

DIFFICULTY_STAGE = Stage(
    "difficulty",
    config="curate.teachability.difficulty:DifficultyConfig",
    run="curate.teachability.difficulty:run_difficulty",
    help="Weak-model pass rates and difficulty bands (adaptive K).",
    example="teachable difficulty --weak smollm2 --weak gemma3 --samples 8",
    check=check_difficulty,
    extras=("progress", "engine"),
    after="curate.cli.teach:print_call_share",
)

REWRITE_STAGE = Stage(
    "rewrite",
    config="curate.teachability.rewrite:RewriteConfig",
    run="curate.teachability.rewrite:run_rewrite",
    help="Rewrite proofs and open-ended seeds into checkable short-answer questions.",
    example="teachable rewrite --model models/o3-mini.yaml --selection edge",
    check=check_rewrite,
    extras=("progress", "engine"),
)

SELECT_STAGE = Stage(
    "select",
    config="curate.teachability.select:SelectConfig",
    run="curate.teachability.select:run_select",
    help="Record a named selection of seeds at this snapshot.",
    example="teachable select --name edge --band teachable --max-per-source 100",
    flags={
        "bands": ("--band",),
        "domains": ("--domain",),
        "sources": ("--source",),
        "models": ("--model",),
    },
)
