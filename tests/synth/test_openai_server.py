"""The openai backend against a real OpenAI-compatible server: llama.cpp's, serving SmolLM2."""

from __future__ import annotations

import pytest

from synth import ChatRequest, ModelConfig, RequestCache, generate

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTION = [{"role": "user", "content": "What is 3 + 4?"}]


def test_openai_backend_against_llama_cpp_server(llama_server: str, tmp_path) -> None:
    config = ModelConfig(
        backend="openai", model="smollm2", base_url=llama_server, concurrency=2,
        params={"max_tokens": 12, "temperature": 0.9, "seed": 3},
    )  # fmt: skip
    cache = RequestCache(tmp_path / "cache.sqlite")
    result = generate(config, [ChatRequest(messages=QUESTION, n=3), ChatRequest(prompt="A, B, C,")],
                      cache=cache)  # fmt: skip
    chat, raw = result.completions
    # the server ignores `n`; one request per sample still gives 3 samples
    assert len(chat) == 3 and len(raw) == 1
    for c in [*chat, *raw]:
        assert c is not None and c.ok, c
        assert c.text and c.finish_reason in {"stop", "length"}
        assert 0 < c.completion_tokens <= 12 and c.prompt_tokens > 0
    assert result.stats["sent"] == 4
    # seeded: the same request again gives the same texts, fresh from the server (no cache)
    again = generate(config, [ChatRequest(messages=QUESTION, n=3)])
    assert [c.text for c in again.completions[0]] == [c.text for c in chat]
    # with the cache nothing is sent again
    cached = generate(config, [ChatRequest(messages=QUESTION, n=3)], cache=cache)
    assert cached.stats["sent"] == 0 and cached.stats["cached"] == 3
    assert [c.text for c in cached.completions[0]] == [c.text for c in chat]
    cache.close()
