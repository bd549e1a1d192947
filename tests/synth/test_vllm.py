"""The vllm backend (GPU only). Set TEACHABLE_VLLM_MODEL to a local HF model folder or name the
machine can load offline; without vLLM, CUDA or that variable the test is skipped."""

from __future__ import annotations

import os

import pytest

from synth import ChatRequest, ModelConfig, generate

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def test_vllm_chat_samples_are_seeded() -> None:
    pytest.importorskip("vllm")
    model = os.environ.get("TEACHABLE_VLLM_MODEL")
    if not model:
        pytest.skip("TEACHABLE_VLLM_MODEL is not set")
    config = ModelConfig(backend="vllm", model=model, params={"max_tokens": 16, "temperature": 1.0})
    request = ChatRequest(messages=[{"role": "user", "content": "Say a number."}], n=3)
    first = generate(config, [request, ChatRequest(prompt="1, 2, 3,")])
    second = generate(config, [request])
    texts = [c.text for c in first.completions[0]]
    assert all(c is not None and c.ok and c.completion_tokens > 0 for c in first.completions[0])
    assert texts == [c.text for c in second.completions[0]]
    assert first.completions[1][0].text
