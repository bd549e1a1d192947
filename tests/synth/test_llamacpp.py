"""The embedded llama-cpp-python backend with the real SmolLM2 GGUF."""

from __future__ import annotations

import pytest

from synth import ChatRequest, ModelConfig, generate, get_backend

pytestmark = pytest.mark.slow

QUESTION = [{"role": "user", "content": "Name a colour of the sky."}]


def test_smollm2_generates_chat_and_raw_prompt() -> None:
    config = ModelConfig(params={"max_tokens": 16, "temperature": 0.8})
    result = generate(config, [ChatRequest(messages=QUESTION, n=2), ChatRequest(prompt="1, 2, 3,")])
    chat, raw = result.completions
    assert len(chat) == 2 and len(raw) == 1
    for c in [*chat, *raw]:
        assert c is not None and c.ok and c.text
        assert c.finish_reason in {"stop", "length"}
        assert 0 < c.completion_tokens <= 16 and c.prompt_tokens > 0 and c.latency_s > 0
    assert result.stats["sent"] == 3 and result.stats["failed"] == 0


def test_seeded_sampling_is_reproducible() -> None:
    config = ModelConfig(params={"max_tokens": 24, "temperature": 1.0, "seed": 7})
    backend = get_backend(config)
    request = ChatRequest(messages=QUESTION, n=3)
    first = [c.text for c in generate(backend, [request]).completions[0]]
    # another prompt in between must not change what the seeds give
    generate(backend, [ChatRequest(prompt="Once upon a time", max_tokens=8)])
    second = [c.text for c in generate(backend, [request]).completions[0]]
    assert first == second
    # sample i is drawn with seed + i: asking for sample 1 alone (seed 8) gives sample 1 again
    alone = generate(backend, [ChatRequest(messages=QUESTION, seed=8)]).completions[0][0]
    assert alone.text == first[1]
    assert len(set(first)) > 1, "different seeds should give different samples at temperature 1"


def test_gemma_base_model_few_shot_raw_prompt() -> None:
    """A base model takes a raw few-shot prompt (ChatRequest(prompt=...)), no chat template."""
    config = ModelConfig(model="gemma3-270m", params={"max_tokens": 12, "temperature": 0.0})
    prompt = "Copy the number.\nInput: 4821\nOutput: 4821\nInput: 90317\nOutput:"
    result = generate(config, [ChatRequest(prompt=prompt, stop=["\n"])])
    c = result.completions[0][0]
    assert c is not None and c.ok
    assert c.text == "90317" and c.finish_reason == "stop"
