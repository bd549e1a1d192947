"""A response body is read only as far as the request's max_tokens can explain (issue 23,
class 8): a server that floods a 32-token request with 100 MB is cut off after about the limit,
counted in bytes the server actually sent, and the sample fails with an error naming the model
and the limit; the body is never parsed, cached or stored."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from loopback import LoopbackServer

from synth import ChatRequest, generate, get_backend
from synth.backends.openai_backend import _body_limit

FLOOD = 100 << 20


def _ask(loopback: LoopbackServer, loopback_config, fault: str, max_tokens: int = 32):
    backend = get_backend(loopback_config(loopback, max_retries=0, timeout_s=20))
    requests = [
        ChatRequest(
            messages=[{"role": "user", "content": f"FAULT:{fault}"}], max_tokens=max_tokens
        ),
        ChatRequest(messages=[{"role": "user", "content": "fine"}], max_tokens=max_tokens),
    ]
    [[flooded], [fine]] = generate(backend, requests).completions
    assert fine is not None and fine.ok  # the next request on the client is unharmed
    assert flooded is not None and not flooded.ok and flooded.text in ("", None)
    return flooded


@pytest.mark.parametrize("max_tokens", [32, 2000])
def test_a_chunked_flood_stops_after_about_the_limit(
    max_tokens: int, loopback: LoopbackServer, loopback_config
) -> None:
    flooded = _ask(loopback, loopback_config, "flood", max_tokens)
    limit = _body_limit({"max_tokens": max_tokens})
    assert "model 'loopback'" in (flooded.error or "")
    assert f"max_tokens={max_tokens}" in (flooded.error or "")
    assert f"{limit:,} bytes" in (flooded.error or "") and "stopped reading" in (
        flooded.error or ""
    )
    # what left the server: the limit, plus what socket buffers held when the client hung up
    assert limit < loopback.flood_sent < limit + (32 << 20) < FLOOD, loopback.flood_sent


def test_an_announced_length_over_the_limit_is_refused_before_reading(
    loopback: LoopbackServer, loopback_config
) -> None:
    flooded = _ask(loopback, loopback_config, "floodlength")
    assert "announced" in (flooded.error or "") and "model 'loopback'" in (flooded.error or "")
    assert loopback.flood_sent < 32 << 20 < FLOOD, loopback.flood_sent


def test_a_flood_within_the_limit_is_read(loopback: LoopbackServer, loopback_config) -> None:
    loopback.flood_bytes = 200_000  # under 1 MB + 2000 tokens' worth
    backend = get_backend(loopback_config(loopback, max_retries=0, timeout_s=20))
    request = ChatRequest(messages=[{"role": "user", "content": "FAULT:flood"}], max_tokens=2000)
    [[completion]] = generate(backend, [request]).completions
    assert completion is not None and completion.ok
    assert completion.text == "x" * 200_000


_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    sys.path.insert(0, sys.argv[1])
    from loopback import serve_in_thread
    from synth import ChatRequest, generate, get_backend
    from synth.models import ModelConfig

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    with serve_in_thread() as server:
        config = ModelConfig.model_validate({"backend": "openai", "model": "loopback",
            "base_url": server.base_url, "timeout_s": 60, "max_retries": 0})
        backend = get_backend(config)
        warm = [ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=32)]
        generate(backend, warm)
        before = peak()
        flood = ChatRequest(messages=[{"role": "user", "content": "FAULT:flood"}], max_tokens=32)
        [[done]] = generate(backend, [flood, flood]).completions[:1]
        print(json.dumps({"before": before, "after": peak(), "sent": server.flood_sent,
                          "error": done.error}))
    """
)


def test_two_100mb_bodies_leave_peak_memory_flat(tmp_path: Path) -> None:
    """The probe's case, in a child process under an address-space limit: two 100 MB answers
    to 32-token requests raise the child's peak RSS by a few MB, not by the bodies."""
    tests = Path(__file__).resolve().parents[1]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests)])}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tests)],
        capture_output=True, text=True, timeout=120, preexec_fn=limit, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert "max_tokens=32" in figures["error"]
    assert figures["sent"] < 2 * (32 << 20) < 2 * FLOOD
    assert figures["after"] - figures["before"] < 48 << 20, figures
