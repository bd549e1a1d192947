"""Model backends behind one interface (see base.py). Heavy imports happen only when chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synth.backends.base import Backend, ChatRequest, Completion, SampleTask, Sampling, Sink

if TYPE_CHECKING:
    from synth.models import ModelConfig

__all__ = ["Backend", "ChatRequest", "Completion", "SampleTask", "Sampling", "Sink", "get_backend"]


def get_backend(config: ModelConfig) -> Backend:
    if config.backend == "llamacpp":
        from synth.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(config)
    if config.backend == "openai":
        if config.batch_api:
            from synth.backends.batch_api import BatchAPIBackend

            return BatchAPIBackend(config)
        from synth.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(config)
    if config.backend == "vllm":
        from synth.backends.vllm_backend import VLLMBackend

        return VLLMBackend(config)
    raise ValueError(f"unknown backend {config.backend!r}")
