"""A query's result as a stream of Arrow tables, so a stage holds one batch at a time.

The stream runs on its own cursor (a second connection to the same DuckDB instance, with the
lake as its default catalog), so the store's connection stays free for other reads, and for
writes, while the stream is open. DuckDB produces the rows as they are fetched; each yielded
table has at most `rows` rows and, past its first record batch, at most about `max_bytes`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from store._connection import LAKE

if TYPE_CHECKING:
    from store.core import Store

_FETCH_ROWS = 2048  # DuckDB's vector size: the grain at which batches are regrouped


def record_batches(
    store: Store,
    query: str,
    params: Sequence[Any] | None = None,
    *,
    rows: int = 65_536,
    max_bytes: int = 64 << 20,
) -> Iterator[pa.Table]:
    """Tables of consecutive result rows, bounded by `rows` and by `max_bytes` of Arrow data
    (long texts make a few thousand rows weigh hundreds of megabytes)."""
    cursor = store._con.cursor()
    try:
        cursor.execute(f"USE {LAKE}")
        reader = cursor.execute(query, list(params or [])).fetch_record_batch(
            min(rows, _FETCH_ROWS)
        )
        pending: list[pa.RecordBatch] = []
        held_rows = held_bytes = 0
        for batch in reader:
            if pending and (held_rows + batch.num_rows > rows or held_bytes >= max_bytes):
                yield pa.Table.from_batches(pending)
                pending, held_rows, held_bytes = [], 0, 0
            pending.append(batch)
            held_rows += batch.num_rows
            held_bytes += batch.nbytes
        if pending:
            yield pa.Table.from_batches(pending)
    finally:
        cursor.close()
