"""Fault injection on loopback: every request succeeds after retries or fails with its reason;
none is lost or sent twice after success."""

from __future__ import annotations

import time

from loopback import LoopbackServer

from synth import ChatRequest, RequestCache, generate, get_backend
from synth.generate import sample_tasks

PLANS = {
    "ok": "",
    "rate_limited": "FAULT:429",  # Retry-After: 1
    "server_error": "FAULT:500,500",
    "stall": "FAULT:stall",  # past the 0.5 s timeout
    "dropped": "FAULT:drop",
    "malformed": "FAULT:badjson",
    "mixed": "FAULT:500,drop,badjson,stall",
    "bad_request": "FAULT:400",  # not retryable
    "down": "FAULT:always500",  # retried until max_retries, then failed
}


def _request(name: str) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": f"{name} {PLANS[name]}"}], n=2)


def test_faults_retry_or_fail_with_reason(
    loopback: LoopbackServer, loopback_config, tmp_path
) -> None:
    config = loopback_config(loopback, max_retries=4)
    backend = get_backend(config)
    names = list(PLANS)
    cache = RequestCache(tmp_path / "cache.sqlite")
    start = time.perf_counter()
    result = generate(backend, [_request(n) for n in names], cache=cache)
    elapsed = time.perf_counter() - start
    by_name = dict(zip(names, result.completions, strict=True))

    for name, samples in by_name.items():
        for c in samples:
            assert c is not None, f"{name}: lost"
            if name in {"bad_request", "down"}:
                assert not c.ok
            else:
                assert c.ok and c.text == "The answer is \\boxed{4}.", (name, c)
    assert by_name["bad_request"][0].error.startswith("HTTP 400")
    assert by_name["bad_request"][0].attempts == 1
    assert by_name["down"][0].error.startswith("HTTP 500")
    assert by_name["down"][0].attempts == 5
    assert by_name["mixed"][0].attempts == 5
    assert by_name["rate_limited"][0].attempts == 2
    assert elapsed >= 1.0, "Retry-After: 1 was not honoured"
    assert backend.retries["429"] == 2 and backend.retries["timeout"] >= 4
    assert backend.retries["connection"] >= 4 and backend.retries["malformed"] >= 4

    # the server answered each successful request exactly once, and never the failing ones
    assert sum(loopback.served.values()) == 2 * (len(names) - 2)
    assert set(loopback.served.values()) == {1}
    assert result.stats["failed"] == 4 and result.stats["sent"] == 2 * len(names)

    # failures are recorded with their reason, and only they are retried on the next run
    keys = [t.key for t in sample_tasks(backend, [_request(n) for n in names])]
    failures = cache.failures(keys)
    assert len(failures) == 4 and all(r.startswith("HTTP") for r in failures.values())
    before = sum(loopback.attempts.values())
    again = generate(backend, [_request(n) for n in names], cache=cache)
    assert again.stats["cached"] == 2 * (len(names) - 2) and again.stats["sent"] == 4
    sent_again = sum(loopback.attempts.values()) - before
    assert sent_again == 2 * 1 + 2 * 5  # bad_request once each, down 5 times each
    assert set(loopback.served.values()) == {1}
    cache.close()
