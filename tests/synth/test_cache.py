"""The request cache: survives reopening, keeps failures with reasons, never downgrades ok."""

from __future__ import annotations

from pathlib import Path

from synth import Completion, RequestCache


def test_cache_roundtrip_and_failure_rules(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with RequestCache(path, flush_every=2) as cache:
        cache.put("a", "openai", "m", Completion(text="x", reasoning="r", completion_tokens=3))
        cache.put("b", "openai", "m", Completion(error="HTTP 500: boom", attempts=3))
        cache.put("c", "openai", "m", Completion(text="late"))  # buffered, flushed on close
    with RequestCache(path) as cache:
        got = cache.get_many(["a", "b", "c", "zzz"])
        assert set(got) == {"a", "c"} and got["a"].text == "x" and got["a"].cached
        assert got["a"].reasoning == "r" and got["a"].completion_tokens == 3
        assert cache.failures(["a", "b"]) == {"b": "HTTP 500: boom"}
        cache.put("b", "openai", "m", Completion(text="retried ok"))
        cache.put("a", "openai", "m", Completion(error="HTTP 500: later failure"))
        cache.flush()
        got = cache.get_many(["a", "b"])
        assert got["b"].text == "retried ok" and got["a"].text == "x"  # ok is never downgraded
        assert cache.stats() == {"ok": 3}


def test_cache_flushes_by_time(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path / "c.sqlite", flush_every=1000, flush_interval_s=0.0)
    cache.put("a", "openai", "m", Completion(text="x"))
    other = RequestCache(tmp_path / "c.sqlite")  # a second reader sees it without close()
    assert set(other.get_many(["a"])) == {"a"}
    other.close()
    cache.close()
