"""Model calls on a Ray cluster: the `ray` engine (store.engine) behind the Backend interface.

`model_session` asks `engine_backend(config)` for its backend. With the `local` engine that is
the configured backend itself; with `ray` it is a `RayBackend`, which carries the configured
backend's name and config, so `synth.generate` computes the same cache keys, finds the same
cache hits and assembles the same completions in the same places: no stage has Ray code.

`RayBackend.run` gets the sample tasks that are not in the request cache, has the budget admit
them here (in waves: each wave's reservations are released when its results come back), and
sends them through Ray Data. Two plans:

* `map_batches` (llamacpp, openai, transformers): an actor pool, one actor per worker; each actor
  builds the backend from the ModelConfig once and runs the same `Backend.run` on its batches
  of tasks as the local engine would.
* `llm` (vllm): Ray Data's LLM batch stage (`ray.data.llm`, vLLM engines on the cluster's GPUs,
  data-parallel over `GPUs // tensor_parallel_size` replicas) instead of a pool of our own.
  Needs vLLM and GPUs in the cluster; `llm_problem` refuses it clearly otherwise.

Results stream back to this process, which writes them into the request cache through the
usual sink (so one writer, and no worker needs the store's folder: a multi-machine cluster needs
only teachable installed on its nodes), and the stage writes its rows in its one `store.run`.
One run, not one per partition: a run is one snapshot with one resume filter and one set of
counts, and the request cache already makes work resumable per sample. A killed worker is
restarted by Ray Data and its batch retried (its unfinished samples are sent again); if the run
fails anyway, what came back is in the cache and a re-run sends only the rest.

The Batch API mode (`batch_api: true`) already runs remotely in the provider's batch queue, so
it stays on the local engine.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from store.engine import EngineError, current_engine, ensure_ray, ray_workers
from synth.backends import BACKENDS, Backend, Completion, SampleTask, Sampling, Sink, get_backend
from synth.models import ModelConfig

Plan = Literal["local", "map_batches", "llm"]
# tasks admitted (and their budget reserved) per Ray Data execution when a budget is set;
# without one every task goes in one execution, so actors (and models) start once
WAVE_TASKS = 4096


def plan(config: ModelConfig, engine: str | None = None) -> Plan:
    """How `config`'s calls run on `engine` (default: the current one)."""
    # the synthetic teacher answers from the store, which only this process holds
    if (engine or current_engine()) == "local" or config.batch_api or config.backend == "synthetic":
        return "local"
    return "llm" if config.backend == "vllm" else "map_batches"


def llm_problem(config: ModelConfig, has_vllm: bool, gpus: float) -> str | None:
    """Why the `llm` plan cannot run (None: it can): vLLM and enough GPUs for one replica."""
    if not has_vllm:
        return (
            "the ray engine runs the vllm backend as Ray Data's LLM stage (ray.data.llm), "
            "which needs vLLM on the cluster's nodes: pip install 'teachable[gpu,scale]'; "
            "or use --engine local"
        )
    if gpus < config.tensor_parallel_size:
        return (
            f"the vllm backend needs {config.tensor_parallel_size} GPU(s) per replica; the Ray "
            f"cluster has {gpus:g}"
        )
    return None


def engine_backend(config: ModelConfig) -> Backend:
    """The backend that runs `config`'s calls on the current engine."""
    chosen = plan(config)
    if chosen == "local":
        return get_backend(config)
    if chosen == "llm" and importlib.util.find_spec("vllm") is None:
        # refused before Ray starts; the GPUs are counted once it has (engine_llm)
        raise EngineError(str(llm_problem(config, has_vllm=False, gpus=0)))
    return RayBackend(config, chosen)


def task_row(task: SampleTask) -> str:
    """A sample task as the JSON a worker rebuilds it from (its key stays here)."""
    return json.dumps(
        [task.request_index, task.sample_index, task.messages, task.prompt, task.canonical()],
        ensure_ascii=False,
    )


def task_from_row(row: str) -> SampleTask:
    i, j, messages, prompt, c = json.loads(row)
    stop = tuple(c["stop"]) if c["stop"] else None
    sampling = Sampling(c["temperature"], c["top_p"], c["max_tokens"], c["seed"], stop)
    return SampleTask(i, j, messages, prompt, sampling)


class _Collect:
    """The sink a worker's backend reports to: admits everything (the budget was applied by
    the driver), keeps each completion in its task's position."""

    cache = None

    def __init__(self, tasks: Sequence[SampleTask]) -> None:
        self.position = {id(t): k for k, t in enumerate(tasks)}
        self.results: list[str | None] = [None] * len(tasks)

    def admit(self, task: SampleTask) -> bool:
        return True

    def emit(self, task: SampleTask, completion: Completion) -> None:
        self.results[self.position[id(task)]] = completion.to_json()

    def tick(self) -> None:
        return None


class _Generate:
    """A Ray Data worker: the configured backend, built once per actor, run on each batch."""

    def __init__(self, config_json: str) -> None:
        self.backend = get_backend(ModelConfig.model_validate_json(config_json))

    def __call__(self, batch: Any) -> dict[str, Any]:
        tasks = [task_from_row(r) for r in batch["task"].to_pylist()]
        sink = _Collect(tasks)
        self.backend.run(tasks, sink)
        missing = [k for k, r in enumerate(sink.results) if r is None]
        if missing:
            raise RuntimeError(f"backend {self.backend.name} left {len(missing)} tasks unanswered")
        return {"i": batch["i"], "completion": sink.results}

    def __del__(self) -> None:
        backend = getattr(self, "backend", None)
        if backend is not None:
            backend.close()


class RayBackend(Backend):
    """The configured backend's calls, run by Ray Data workers; see the module docstring."""

    def __init__(self, config: ModelConfig, how: Plan = "map_batches") -> None:
        super().__init__(config)
        # the configured backend's name: it is part of every cache key
        self.name = _backend_class(config).name
        self.how = how

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        ray = ensure_ray()
        for wave in self._waves(tasks, sink):
            for k, completion in self._execute(ray, wave):
                sink.emit(wave[k], completion)

    def _waves(self, tasks: Sequence[SampleTask], sink: Sink) -> Iterator[list[SampleTask]]:
        """Admitted tasks, all at once, or WAVE_TASKS at a time under a budget (a wave holds
        its samples' reservations until its results are back)."""
        budgeted = getattr(sink, "budget", None)
        limited = budgeted is not None and (
            budgeted.max_tokens is not None or budgeted.max_cost_usd is not None
        )
        size = WAVE_TASKS if limited else max(1, len(tasks))
        wave: list[SampleTask] = []
        for task in tasks:
            if not sink.admit(task):
                break
            wave.append(task)
            if len(wave) == size:
                yield wave
                wave = []
        if wave:
            yield wave

    def _execute(self, ray: Any, wave: list[SampleTask]) -> Iterator[tuple[int, Completion]]:
        import pyarrow as pa

        table = pa.table({"i": list(range(len(wave))), "task": [task_row(t) for t in wave]})
        if self.how == "llm":
            from synth.engine_llm import llm_dataset

            ds = llm_dataset(ray, self.config, table)
        else:
            workers = ray_workers(ray)
            step = _batch_size(self.config, len(wave), workers)
            blocks = [table.slice(s, step) for s in range(0, len(wave), step)]  # a call each
            ds = ray.data.from_blocks(blocks).map_batches(
                _Generate,
                fn_constructor_args=(self.config.model_dump_json(),),
                batch_size=None,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=min(workers, len(blocks))),
            )
        for out in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            for k, payload in zip(out["i"].to_pylist(), out["completion"].to_pylist(), strict=True):
                yield k, Completion(**json.loads(payload))


def _batch_size(config: ModelConfig, tasks: int, workers: int) -> int:
    """Tasks per worker call: at least four calls per worker (an even spread), at most four
    times the backend's concurrency (what a killed worker's batch sends again)."""
    return max(1, min(-(-tasks // (4 * workers)), 4 * config.concurrency))


def _backend_class(config: ModelConfig) -> type[Backend]:
    import pkgutil

    return pkgutil.resolve_name(BACKENDS[config.backend])
