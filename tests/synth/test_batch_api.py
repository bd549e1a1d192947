"""Batch API mode against the loopback server's /files and /batches emulation: submit, poll,
collect; a run killed while waiting resumes the same batch instead of submitting again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from loopback import LoopbackServer

from synth import ChatRequest, RequestCache, generate

SCRIPT = Path(__file__).with_name("batch_proc.py")
sys.path.insert(0, str(SCRIPT.parent))
from batch_proc import REQUESTS  # noqa: E402


def test_batch_mode_submits_polls_and_collects(
    loopback: LoopbackServer, loopback_config, tmp_path: Path
) -> None:
    config = loopback_config(loopback, batch_api=True, batch_poll_s=0.05)
    requests = [*REQUESTS, ChatRequest(prompt="1, 2, 3,")]
    with RequestCache(tmp_path / "cache.sqlite") as cache:
        result = generate(config, requests, cache=cache)
        assert cache.open_batches() == []
    samples = [c for row in result.completions for c in row]
    assert len(samples) == 7 and all(c is not None and c.ok for c in samples)
    assert samples[0].text == "The answer is \\boxed{4}." and samples[0].reasoning
    assert sorted(b["endpoint"] for b in loopback.batches.values()) == [
        "/v1/chat/completions",
        "/v1/completions",
    ]
    assert set(loopback.served.values()) == {1} and len(loopback.served) == 7


def test_killed_batch_run_resumes_the_same_batch(
    loopback: LoopbackServer, loopback_config, tmp_path: Path
) -> None:
    cache_path = tmp_path / "cache.sqlite"
    loopback.hold_batches = True
    cmd = [sys.executable, str(SCRIPT), str(cache_path), loopback.base_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not loopback.batches:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # polling now
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with RequestCache(cache_path) as cache:
        [(batch_id, keys)] = cache.open_batches()
    assert batch_id == "batch_0" and len(keys) == 6

    loopback.hold_batches = False
    config = loopback_config(loopback, batch_api=True, batch_poll_s=0.05)
    with RequestCache(cache_path) as cache:
        result = generate(config, REQUESTS, cache=cache)
        assert cache.open_batches() == []
    assert len(loopback.batches) == 1, "the re-run must not submit a second batch"
    assert result.stats["sent"] == 6
    assert all(c is not None and c.ok for row in result.completions for c in row)
    assert set(loopback.served.values()) == {1}
