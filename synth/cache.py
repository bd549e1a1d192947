"""Persistent request cache: one SQLite file (WAL) per store and machine, one row per sample.

It lives in the store's `local_dir`: the store folder itself for a folder store; for a
PostgreSQL store this machine's folder for it (TEACHABLE_LOCAL_DIR, default
~/.cache/teachable/<digest of the location>). It stays local on purpose: it saves re-sending
the finished requests of a crashed or re-run run on the same machine, at SQLite speed and
without a network round trip per request; across machines the store's own rows are what a
re-run resumes from (`run.todo`).

Keyed by a hash of (backend, model identity, effective request, sample index), so a stage that
crashes or is re-run never re-sends a finished request. Failed requests are kept with their reason
and are retried on the next run. Only request content and results are stored: no URL, headers or
API key ever reach this file, and what a server sends back passes the secrets scrubber first
(store.secrets): error reasons fully (servers echo Authorization headers in error bodies),
completions for known secret values only (model text must otherwise stay as it came).

Write path trade-off: results are buffered and committed with one `executemany` when the buffer
holds `flush_every` rows or `flush_interval_s` has passed (`generate` runs a helper thread that
calls `tick()` on that period). Measured here, a commit per result costs ~150 us of client CPU
against ~30 us batched: 15% of the whole per-request budget at 1,000 requests/s. The price: a
SIGKILL can lose the results of the last `flush_interval_s` (50 ms by default), which are then
re-sent on the next run. Committed rows survive any process crash (WAL with synchronous=NORMAL;
only an OS crash or power cut could drop the last commits).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import xxhash

from store.secrets import scrub, scrub_known
from synth.backends.base import Completion, SampleTask

CACHE_FILE = "request_cache.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,          -- 'ok' or 'failed'
    payload TEXT,                  -- Completion as JSON when ok
    error TEXT,                    -- last failure reason when failed
    attempts INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    keys TEXT NOT NULL,            -- JSON list of cache keys submitted in this batch
    status TEXT NOT NULL,          -- 'open' until collected, then the final batch status
    created_at REAL NOT NULL
);
"""


def request_key(identity: dict[str, Any], task: SampleTask) -> str:
    blob = json.dumps([identity, task.canonical()], sort_keys=True, ensure_ascii=False)
    return xxhash.xxh3_128_hexdigest(blob.encode())


class RequestCache:
    def __init__(
        self, path: str | Path, flush_every: int = 512, flush_interval_s: float = 0.05
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_every = flush_every
        self.flush_interval_s = flush_interval_s
        self._lock = threading.Lock()
        self._buffer: list[tuple[Any, ...]] = []
        self._last_flush = time.monotonic()
        self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.execute("PRAGMA busy_timeout=30000")
        self._con.executescript(_SCHEMA)

    @classmethod
    def for_store(cls, store: Any, **kwargs: Any) -> RequestCache:
        return cls(Path(store.local_dir) / CACHE_FILE, **kwargs)

    def get_many(self, keys: Sequence[str]) -> dict[str, Completion]:
        """Finished (ok) completions among `keys`."""
        found: dict[str, Completion] = {}
        for key, payload in self._select("key, payload", keys, "status = 'ok'"):
            found[key] = Completion.from_json(payload)
        return found

    def failures(self, keys: Sequence[str]) -> dict[str, str]:
        return dict(self._select("key, error", keys, "status = 'failed'"))

    def _select(self, cols: str, keys: Sequence[str], cond: str) -> Iterable[tuple[Any, ...]]:
        with self._lock:
            rows: list[tuple[Any, ...]] = []
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT {cols} FROM completions WHERE key IN ({marks}) AND {cond}"
                rows.extend(self._con.execute(sql, chunk).fetchall())
            return rows

    def put(self, key: str, backend: str, model: str, completion: Completion) -> None:
        now = time.time()
        if completion.ok:
            payload = scrub_known(completion.to_json())
            row: tuple[str, str, str, str, str | None, str | None, int, float] = (
                key, backend, model, "ok", payload, None, completion.attempts, now
            )  # fmt: skip
        else:
            error = scrub(completion.error or "")
            row = (key, backend, model, "failed", None, error, completion.attempts, now)
        with self._lock:
            self._buffer.append(row)
            due = len(self._buffer) >= self.flush_every
        if due:
            self.flush()
        else:
            self.tick()

    def tick(self) -> None:
        """Flush if `flush_interval_s` has passed since the last flush."""
        if self._buffer and time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            if not rows:
                return
            # A later ok result replaces a failure; a failure never replaces an ok result.
            self._con.execute("BEGIN IMMEDIATE")
            self._con.executemany(
                "INSERT INTO completions VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET "
                "status=excluded.status, payload=excluded.payload, error=excluded.error, "
                "attempts=completions.attempts + excluded.attempts, updated_at=excluded.updated_at "
                "WHERE completions.status <> 'ok'",
                rows,
            )
            self._con.execute("COMMIT")

    # Batch API bookkeeping: the batch id is saved before polling, so a killed run resumes it.
    def save_batch(self, batch_id: str, keys: Sequence[str]) -> None:
        with self._lock:
            self._con.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, 'open', ?)",
                (batch_id, json.dumps(list(keys)), time.time()),
            )

    def open_batches(self) -> list[tuple[str, list[str]]]:
        with self._lock:
            rows = self._con.execute(
                "SELECT batch_id, keys FROM batches WHERE status = 'open' ORDER BY created_at"
            ).fetchall()
        return [(bid, json.loads(keys)) for bid, keys in rows]

    def close_batch(self, batch_id: str, status: str) -> None:
        with self._lock:
            self._con.execute(
                "UPDATE batches SET status = ? WHERE batch_id = ?", (status, batch_id)
            )

    def stats(self) -> dict[str, int]:
        with self._lock:
            rows = self._con.execute(
                "SELECT status, count(*) FROM completions GROUP BY status"
            ).fetchall()
        return dict(rows)

    def close(self) -> None:
        self.flush()
        self._con.close()

    def __enter__(self) -> RequestCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
