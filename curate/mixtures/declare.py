"""The `mix.build` stage (store.stage.Stage): its recipe stage, `teachable mix build` command and
preflight come from this declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.stage import Stage

if TYPE_CHECKING:
    from curate.mixtures.build import MixBuildConfig
    from quality.benchmarks.check import HubProbe


def check_recipe(config: MixBuildConfig, hub: HubProbe) -> list[str]:
    from curate.mixtures.recipe import MixtureRecipeError, load_recipe

    try:
        load_recipe(config.recipe)
    except MixtureRecipeError as exc:
        return [f"mixture recipe: {exc}"]
    return []


MIX_BUILD_STAGE = Stage(
    "mix.build",
    config="curate.mixtures.build:MixBuildConfig",
    run="curate.mixtures.build:run_mix_build",
    help="Resolve a mixture recipe at one snapshot.",
    example="teachable mix build recipes/mixtures/example.yaml --at v1",
    check=check_recipe,
    arguments=("recipe",),
    after="curate.cli.mix:print_built",
)
