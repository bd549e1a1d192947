"""Model backends and teacher trace generation.

from synth import Budget, ChatRequest, RequestCache, generate, resolve_model_config

model = resolve_model_config("models/o3-mini.yaml")        # or None: embedded SmolLM2
chat = ChatRequest(messages=[{"role": "user", "content": "2+2?"}], n=4, max_tokens=256)
raw = ChatRequest(prompt="Q: 2+2\nA: 4\nQ: 3+5\nA:", stop=["\n"])  # base models
with RequestCache.for_store(store) as cache:                # finished samples never re-sent
    result = generate(model, [chat, raw], cache=cache, budget=Budget(max_tokens=10**6))
result.completions[0][3]   # Completion(text, reasoning, finish_reason, tokens, latency, ...)
result.stopped             # a message when the budget stopped the run, else None
"""

from synth.backends import Backend, ChatRequest, Completion, get_backend
from synth.cache import RequestCache
from synth.generate import Budget, GenerateResult, generate, sample_tasks
from synth.models import ModelConfig, resolve_model_config

__all__ = [
    "Backend",
    "Budget",
    "ChatRequest",
    "Completion",
    "GenerateResult",
    "ModelConfig",
    "RequestCache",
    "generate",
    "get_backend",
    "sample_tasks",
    "resolve_model_config",
]
