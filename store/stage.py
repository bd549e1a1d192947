"""A stage's declaration: the one place its name, config, run function, input check and
command-line form are written down. The recipe stage (curate.pipeline), the `teachable`
command (curate.cli.stages) and the recipe preflight (curate.preflight) are derived from it,
and its runs carry its name (`store.run(STAGE, config)`).

    PROXY = Stage(
        "proxy",
        config="curate.teachability.proxy:ProxyConfig",
        run="curate.teachability.proxy:run_proxy",
        help="Proxy answers: the reference, else a strong model's majority vote.",
        example="teachable proxy --model models/o3-mini.yaml --samples 5",
        check=check_proxy,
        extras=("progress", "engine"),
    )

The config class, run function and `after` printer are "module:attr" references (or the objects
themselves), loaded on first use: a package's declaration module imports nothing but this one,
so `teachable --help` lists every stage without importing any stage's code.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

# (config, hub probe: quality.benchmarks.check.HubProbe) -> one line per problem with the inputs
Check = Callable[[Any, Any], list[str]]
# (store, config, counts): what the command prints after the counts
After = Callable[[Any, Any, dict[str, int]], None]
# (store, config) -> counts
RunFunction = Callable[[Any, Any], dict[str, int]]


def _load(ref: Any) -> Any:
    return pkgutil.resolve_name(ref) if isinstance(ref, str) else ref


@dataclass(frozen=True)
class Stage:
    """One stage. A name `group.command` (seeds.add) is `teachable group command`, any other
    name a top-level command."""

    name: str
    config: (
        str | type[BaseModel]
    )  # a store.StageConfig subclass: options, defaults, help, validation
    run: str | RunFunction
    help: str  # one line
    example: str  # a whole command line, `teachable ...`
    check: Check | None = None  # recipe preflight: files, models, benchmarks; no model loaded
    flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field -> option names
    arguments: tuple[str, ...] = ()  # fields taken positionally, in this order
    exclude: frozenset[str] = frozenset()  # fields a recipe sets but the command line does not
    extras: tuple[str, ...] = ()  # command-line options beyond the config (curate.cli.stages)
    creates_store: bool = False  # only the stages that bring data in may start a store
    after: str | After | None = None

    @property
    def config_class(self) -> type[BaseModel]:
        model: type[BaseModel] = _load(self.config)
        return model

    @property
    def run_function(self) -> RunFunction:
        function: RunFunction = _load(self.run)
        return function

    @property
    def after_function(self) -> After | None:
        function: After | None = _load(self.after)
        return function

    @property
    def full_help(self) -> str:
        return f"{self.help}\n\nExample: {self.example}"
