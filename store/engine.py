"""Where a stage's work runs: in this process (`local`, the default) or on a Ray cluster (`ray`).

The engine is a process setting, not a stage config field: both engines give the same rows by
contract (tests/synth/test_engine_generation.py, tests/quality/test_engine_kernels.py), so, like
progress bars or a backend's concurrency, it stays out of the run record. It is chosen in one
place: `set_engine()` (what `--engine` and a recipe's `engine:` key call), else
$TEACHABLE_ENGINE, else `local`. Two switch points read it: `synth.session.model_session` (every
model call of every generation stage: synth.engine) and `quality.kernels.parallel.map_slices` (the
decontam and dedup kernels, on Ray through quality.kernels.ray).

Ray is joined, not managed: `ray.init()` connects to the cluster in $RAY_ADDRESS (Ray's own
variable; `ray start --head` on one node, `ray start --address HEAD:6379` on the others), or
starts a local one on this machine's cores. Workers need teachable installed at the same
version; results come back to this process, which alone writes the store and the request cache,
so no worker needs to see the store's folder.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal, cast, get_args

from store.errors import ConfigError

Engine = Literal["local", "ray"]
ENGINE_ENV = "TEACHABLE_ENGINE"
WORKERS_ENV = "TEACHABLE_RAY_WORKERS"
_ENGINE: Engine | None = None


class EngineError(ConfigError):
    """The chosen engine cannot run this (Ray not installed, no vLLM or GPU for vllm, ...): a
    choice the user can change, so the CLI reports it as one line, like a bad option."""


def set_engine(name: str | None) -> None:
    """Run the following stages of this process on `name` (None: back to $TEACHABLE_ENGINE)."""
    global _ENGINE
    _ENGINE = None if name is None else _check(name, "engine")


def current_engine() -> Engine:
    if _ENGINE is not None:
        return _ENGINE
    return _check(os.environ.get(ENGINE_ENV) or "local", f"${ENGINE_ENV}")


def _check(name: str, where: str) -> Engine:
    known = get_args(Engine)
    if name not in known:
        raise EngineError(f"{where}: unknown engine {name!r} (known: {', '.join(known)})")
    return cast(Engine, name)


def ensure_ray() -> Any:
    """The `ray` module, connected: to $RAY_ADDRESS when set, else a local cluster (the same
    one for the whole process; a caller, e.g. a test, may have started it already)."""
    try:
        import ray
    except ImportError as exc:
        raise EngineError(
            "the ray engine needs Ray Data: pip install 'teachable[scale]' (ray[data]==2.60.0)"
        ) from exc
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS") or None,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    _quiet_data(ray)
    return ray


def _quiet_data(ray: Any) -> None:
    """Our own progress bar reports the results as they come back; Ray Data's would repeat it."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def ray_workers(ray: Any, per_worker: str = "CPU") -> int:
    """Workers to start: $TEACHABLE_RAY_WORKERS, else one per CPU (or GPU) of the cluster."""
    if os.environ.get(WORKERS_ENV):
        return max(1, int(os.environ[WORKERS_ENV]))
    return max(1, int(ray.cluster_resources().get(per_worker, 1)))
