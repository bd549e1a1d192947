"""Stream batches through a function on every core, results in input order.

Each batch is cut into one slice per worker and the slices run in threads; the numba kernels
in quality.kernels (tokens, n-grams, MinHash) release the GIL, and each worker
pins numba to one thread (numba's thread count is per calling thread), so two slices use two
cores instead of fighting over both. At most two slices per worker are in flight, so reading
the next batch overlaps the work on this one without holding the whole input.

With the `ray` engine (store.engine) the same slices run on the Ray cluster's workers instead
of this process's threads; `workers` is then the cluster's, not this machine's.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol, TypeVar

import numba

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

R = TypeVar("R")


class Sliceable(Protocol):
    def __len__(self) -> int: ...

    def slice(self, offset: int, length: int) -> Self: ...


S = TypeVar("S", bound=Sliceable)


def cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def _one_core(fn: Callable[[S], R], part: S) -> R:
    numba.set_num_threads(1)
    return fn(part)


def map_slices(batches: Iterable[S], fn: Callable[[S], R], workers: int = 1) -> Iterator[R]:
    """fn over every slice of every batch (pyarrow or Polars tables), in order."""
    from quality.kernels.ray import map_on_ray
    from store.engine import current_engine

    if current_engine() == "ray":
        yield from map_on_ray(batches, fn)
        return
    if workers <= 1:
        for batch in batches:
            yield fn(batch)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="quality") as pool:
        pending: deque[Future[R]] = deque()
        for batch in batches:
            step = max(1, -(-len(batch) // workers))
            for start in range(0, len(batch), step):
                pending.append(pool.submit(_one_core, fn, batch.slice(start, step)))
            while len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
