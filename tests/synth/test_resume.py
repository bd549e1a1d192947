"""Crash and resume: SIGKILL the traces stage part-way, re-run it; nothing finished is re-sent."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from loopback import serve_in_thread

from store import Store
from synth.cache import CACHE_FILE

SCRIPT = Path(__file__).with_name("stage_proc.py")


def _stage(store: Store, base_url: str, samples: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(SCRIPT), str(store.root), base_url, str(samples)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_then_rerun_sends_no_finished_request(seeded_store: Store) -> None:
    items, samples = seeded_store.table("seeds").height, 3
    total = items * samples
    with serve_in_thread(delay_s=0.2) as server:
        proc = _stage(seeded_store, server.base_url, samples)
        deadline = time.monotonic() + 120
        while sum(server.served.values()) < 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the stage sent nothing"
            time.sleep(0.02)
        time.sleep(0.1)  # past the cache's 50 ms flush window
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        served_before = set(server.served)
        with sqlite3.connect(seeded_store.root / CACHE_FILE) as con:
            committed = con.execute(
                "SELECT count(*) FROM completions WHERE status = 'ok'"
            ).fetchone()[0]
        assert 4 <= committed < total, "kill should land part-way"
        assert not seeded_store.has_table("traces")

        attempts_before = sum(server.attempts.values())
        proc = _stage(seeded_store, server.base_url, samples)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]

    # the re-run sent exactly the samples the cache did not hold
    assert sum(server.attempts.values()) - attempts_before == total - committed
    # a request served before the kill is served again only if its result never reached the
    # cache (it was in flight when the process died)
    repeats = [k for k, n in server.served.items() if n > 1]
    assert all(n <= 2 for n in server.served.values())
    assert len(repeats) == len(served_before) - committed
    assert len(server.served) == total
    traces = seeded_store.table("traces")
    assert traces.height == total
    assert traces.select("item_id", "sample_index").unique().height == total
    assert "'sent': " in out.decode() and "'cached': " in out.decode()
