"""Model backends and teacher trace generation.

from synth import ChatRequest, ModelConfig, generate, load_model_config
"""

from synth.backends import Backend, ChatRequest, Completion, get_backend
from synth.cache import RequestCache
from synth.generate import Budget, GenerateResult, generate
from synth.models import ModelConfig, load_model_config

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
    "load_model_config",
]
