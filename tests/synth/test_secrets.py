"""A planted API key is sent to the server and appears nowhere else: not in the store's tables or
files, the runs table, the request cache file, or the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from loopback import LoopbackServer

from store import Store
from synth.traces import TracesConfig, run_traces

KEY = "sk-planted-4f1d9c2e7b6a5d3c1e0f"


def test_planted_key_stays_out_of_store_cache_and_logs(
    seeded_store: Store,
    loopback: LoopbackServer,
    loopback_config,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEACHABLE_TEST_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)  # everything, the openai SDK's debug logging included
    teacher = loopback_config(loopback, api_key_env="TEACHABLE_TEST_API_KEY")
    run_traces(seeded_store, TracesConfig(teacher=teacher, samples=2, max_new=8))
    # one failing request too, so error paths are logged and cached
    bad = loopback_config(loopback, api_key_env="TEACHABLE_TEST_API_KEY", max_retries=1)
    run_traces(seeded_store, TracesConfig(teacher=bad, where="false", samples=1))
    from synth import ChatRequest, RequestCache, generate

    with RequestCache.for_store(seeded_store) as cache:
        failed = generate(bad, [ChatRequest(prompt="FAULT:always500")], cache=cache)
    assert failed.stats["failed"] == 1

    assert loopback.auth_seen == {f"Bearer {KEY}"}, "the key must reach the server"
    assert seeded_store.table("traces").height == 12
    for table in seeded_store.tables():
        frame = seeded_store.table(table)
        assert KEY not in frame.write_csv(), f"key in table {table}"
    assert KEY not in seeded_store.runs().write_csv()
    seeded_store.close()
    files = [p for p in Path(seeded_store.root).rglob("*") if p.is_file()]
    assert any(p.name.startswith("request_cache.sqlite") for p in files)
    for path in files:
        assert KEY.encode() not in path.read_bytes(), f"key in {path}"
    assert KEY not in caplog.text
    out, err = capfd.readouterr()
    assert KEY not in out and KEY not in err
