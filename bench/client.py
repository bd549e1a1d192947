"""Client throughput of the `openai` backend against a loopback server that answers instantly.

Usage:
    .venv/bin/python bench/client.py                 # concurrency 1, 64, 256; cache on and off
    .venv/bin/python bench/client.py --requests 4000 --concurrency 256

The server (tests/loopback.py) runs in its own process, so it does not share the client's event
loop. Baseline: a plain sequential loop over the sync `openai` SDK client, in the same run.
Target: >= 1,000 completed requests/s at concurrency 256 on 2 cores, cache on.

Measured 2026-11-25 on the 2-core dev box while other jobs kept its load average near 6:
sequential SDK loop 718 req/s; backend at concurrency 1 / 64 / 256 with the cache on
1,139 / 1,420 / 1,464 req/s (cache off 1,262 / 1,599 / 1,506), ~620 us of client CPU a request.
Under load average 10-20 the same run gave 400-1,000 req/s: compare only within one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

from synth import ChatRequest, ModelConfig, RequestCache, generate

LOOPBACK = Path(__file__).resolve().parents[1] / "tests" / "loopback.py"  # the test server


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(LOOPBACK), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def requests(n: int, tag: str) -> list[ChatRequest]:
    return [
        ChatRequest(messages=[{"role": "user", "content": f"{tag} question {i}: 2 + 2?"}])
        for i in range(n)
    ]


def sdk_sequential(base_url: str, n: int) -> tuple[float, float]:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    cpu, start = time.process_time(), time.perf_counter()
    for i in range(n):
        client.chat.completions.create(
            model="loopback",
            messages=[{"role": "user", "content": f"sdk question {i}: 2 + 2?"}],
            max_tokens=16,
        )
    client.close()
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1e6


def backend_rate(
    base_url: str, n: int, concurrency: int, cache_dir: Path | None
) -> tuple[float, float]:
    """(completed requests/s, client CPU microseconds per request)."""
    config = ModelConfig(
        backend="openai", model="loopback", base_url=base_url, concurrency=concurrency,
        params={"max_tokens": 16},
    )  # fmt: skip
    cache = None
    if cache_dir is not None:
        cache = RequestCache(cache_dir / f"cache-{concurrency}-{time.time_ns()}.sqlite")
    tag = f"c{concurrency}-{time.time_ns()}"
    cpu, start = time.process_time(), time.perf_counter()
    result = generate(config, requests(n, tag), cache=cache)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if cache is not None:
        cache.close()
    ok = sum(c is not None and c.ok for row in result.completions for c in row)
    assert ok == n, f"only {ok} of {n} completed"
    return n / elapsed, cpu / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 64, 256])
    parser.add_argument("--no-cache-off", action="store_true", help="skip the cache-off runs")
    args = parser.parse_args()
    server, base_url = start_server()
    try:
        print(f"cpus: {os.cpu_count()}, loopback server at {base_url}")
        print(f"{'':<42} {'req/s':>7} {'vs SDK':>7} {'client CPU/req':>15}")
        base, base_cpu = sdk_sequential(base_url, min(args.requests, 500))
        print(f"{'plain sequential openai SDK loop':<42} {base:7.0f} {1:7.2f}x {base_cpu:12.0f} us")
        with tempfile.TemporaryDirectory() as tmp:
            for c in args.concurrency:
                n = min(args.requests, 500) if c == 1 else args.requests
                modes = [("cache on", Path(tmp))]
                if not args.no_cache_off:
                    modes.append(("cache off", None))
                for label, cache_dir in modes:
                    rate, cpu = backend_rate(base_url, n, c, cache_dir)
                    name = f"openai backend, concurrency {c}, {label}"
                    print(f"{name:<42} {rate:7.0f} {rate / base:7.2f}x {cpu:12.0f} us")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
