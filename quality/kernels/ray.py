"""Kernels on Ray (`map_on_ray`): the function (for decontam, a bound method of the benchmark
index) is put into the object store once and every worker process deserializes it once per
stage; batches read here are cut into one slice per worker and streamed through Ray Data's
`map_batches` as tasks, a window of slices at a time, so memory stays bounded however large the
table is; results come back in input order. Tasks, not an actor pool: Ray keeps task worker
processes alive between executions, so a window (and a stage) after the first finds its workers
with their imports done and the function in hand, where a new actor pool per window paid a
process start and the imports every time (bench/scale.py).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from store.engine import ensure_ray, ray_workers

R = TypeVar("R")
# slices a worker gets per window of `map_on_ray`: enough that one Ray Data execution (its
# actor start-up, the function's transfer) is paid over several batches, few enough that a
# window's text held in the object store stays a small multiple of one batch per worker
SLICES_PER_WORKER = 8

# the last function a worker process fetched: (its object ref's id, the function). Ray reuses
# task worker processes, so the next slice of the same stage skips the fetch and deserialization,
# and the next stage finds the process with its imports (numba kernels, Polars) already done
_FN: tuple[str, Any] | None = None


def _shared_fn(ref: Any) -> Any:
    global _FN
    if _FN is None or _FN[0] != ref.hex():
        import numba
        import ray

        numba.set_num_threads(1)  # one core per worker, as quality.kernels.parallel does per thread
        _FN = (ref.hex(), ray.get(ref))
    return _FN[1]


def _apply(batch: Any, fn_ref: list[Any], polars_in: bool) -> dict[str, list[bytes]]:
    """A Ray Data task: the shared function on one slice (the ref comes in a list, or Ray Data
    would fetch and deserialize the function for every slice itself)."""
    import polars as pl

    part = pl.from_arrow(batch) if polars_in else batch
    return {"result": [pickle.dumps(_shared_fn(fn_ref[0])(part), protocol=5)]}


def _to_arrow(part: Any) -> Any:
    return part.to_arrow() if hasattr(part, "to_arrow") else part


def map_on_ray(
    batches: Iterable[Any], fn: Callable[[Any], R], workers: int | None = None
) -> Iterator[R]:
    """`fn` over one slice per worker of every batch (pyarrow or Polars tables), in order, on
    the Ray cluster; the same contract as `quality.kernels.parallel.map_slices`."""
    ray = ensure_ray()
    n = workers or ray_workers(ray)
    fn_ref = ray.put(fn)  # the broadcast: shipped once, read by every worker
    window: list[Any] = []
    polars_in = False
    for batch in batches:
        polars_in = hasattr(batch, "to_arrow")  # Polars; pyarrow tables are shipped as they are
        step = max(1, -(-len(batch) // n))
        window += [_to_arrow(batch.slice(s, step)) for s in range(0, len(batch), step)]
        if len(window) >= SLICES_PER_WORKER * n:
            yield from _run_window(ray, window, fn_ref, polars_in, n)
            window = []
    if window:
        yield from _run_window(ray, window, fn_ref, polars_in, n)


def _run_window(ray: Any, parts: list[Any], fn_ref: Any, polars_in: bool, n: int) -> Iterator[Any]:
    ctx = ray.data.DataContext.get_current()
    ordered, ctx.execution_options.preserve_order = ctx.execution_options.preserve_order, True
    try:
        # from_blocks: one block per slice, metadata computed here (no remote task per block)
        ds = ray.data.from_blocks(parts).map_batches(
            _apply,
            fn_args=([fn_ref], polars_in),
            batch_size=None,  # one slice is one block is one call
            batch_format="pyarrow",
            zero_copy_batch=True,
            compute=ray.data.TaskPoolStrategy(size=min(n, len(parts))),
        )
        for out in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            for blob in out["result"].to_pylist():
                yield pickle.loads(blob)
    finally:
        ctx.execution_options.preserve_order = ordered
