"""Model backends behind one interface (see base.py), found by name in `BACKENDS`.

Adding a backend: write a `Backend` subclass in its own module and add one line here. Modules
are imported only when their backend is chosen, so the CLI starts without torch or vLLM.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from store.errors import ConfigError
from synth.backends.base import Backend, ChatRequest, Completion, SampleTask, Sampling, Sink

if TYPE_CHECKING:
    from synth.models import ModelConfig

__all__ = [
    "BACKENDS",
    "Backend",
    "ChatRequest",
    "Completion",
    "SampleTask",
    "Sampling",
    "Sink",
    "get_backend",
]

# backend name (ModelConfig.backend; "openai-batch" is `openai` with batch_api) -> class
BACKENDS: dict[str, str] = {
    "llamacpp": "synth.backends.llamacpp:LlamaCppBackend",
    "openai": "synth.backends.openai_backend:OpenAIBackend",
    "openai-batch": "synth.backends.batch_api:BatchAPIBackend",
    "synthetic": "synth.backends.synthetic:SyntheticBackend",
    "vllm": "synth.backends.vllm_backend:VLLMBackend",
    "transformers": "synth.backends.transformers_backend:TransformersBackend",
}


def get_backend(config: ModelConfig) -> Backend:
    name = "openai-batch" if config.backend == "openai" and config.batch_api else config.backend
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {config.backend!r} (known: {', '.join(BACKENDS)})")
    module, _, cls = BACKENDS[name].partition(":")
    backend: type[Backend] = getattr(importlib.import_module(module), cls)
    return backend(config)
