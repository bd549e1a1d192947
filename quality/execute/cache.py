"""Judgements cached by (program, tests, limits, judge, isolation, harness): one SQLite file, so
a re-run of a stage or an eval executes nothing it has judged before. Sandbox errors are never
stored (they are retried on the next run)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import xxhash

from quality.execute.isolation import HARNESS
from quality.execute.spec import Judgement, Limits, TestSpec, Verdict

CACHE_FILE = "execute_cache.sqlite"
_HARNESS_ID = xxhash.xxh3_64_hexdigest(HARNESS.encode())


def judgement_key(program: str, spec: TestSpec, limits: Limits, isolation: str) -> str:
    blob = json.dumps(
        [_HARNESS_ID, isolation, program, spec.to_json(), limits.to_dict()],
        sort_keys=True,
        ensure_ascii=False,
    )
    return xxhash.xxh3_128_hexdigest(blob.encode("utf-8", "surrogatepass"))


class JudgementCache:
    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.execute("PRAGMA busy_timeout=30000")
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS judgements "
            "(key TEXT PRIMARY KEY, judgement TEXT NOT NULL, updated_at REAL NOT NULL)"
        )

    def get_many(self, keys: list[str]) -> dict[str, Judgement]:
        found: dict[str, Judgement] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT key, judgement FROM judgements WHERE key IN ({marks})"
                for key, text in self._con.execute(sql, chunk):
                    found[key] = Judgement.from_dict(json.loads(text))
        return found

    def put(self, key: str, judgement: Judgement) -> None:
        if judgement.verdict == Verdict.sandbox_error:
            return
        text = json.dumps(judgement.to_dict())
        with self._lock:
            self._con.execute(
                "INSERT OR REPLACE INTO judgements VALUES (?, ?, ?)", (key, text, time.time())
            )

    def close(self) -> None:
        with self._lock:
            self._con.close()
