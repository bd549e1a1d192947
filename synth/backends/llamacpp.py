"""In-process llama-cpp-python over a GGUF file: the embedded default that runs anywhere."""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from synth.backends.base import Backend, Completion, SampleTask, Sink
from synth.models import ModelConfig, resolve_gguf
from synth.reasoning import normalize

# One Llama per (file, context, threads, chat format) per process: loading costs seconds.
_MODELS: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def load_llama(config: ModelConfig) -> Any:
    from llama_cpp import Llama

    path = resolve_gguf(config)
    # llama.cpp's own default (half the cores) on purpose: its threads spin-wait, and on a busy
    # 2-core machine 2 threads ran 10-40x slower than 1.
    threads = config.n_threads or max(1, (os.cpu_count() or 2) // 2)
    key = (str(path), config.n_ctx, threads, config.chat_format)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = Llama(
                model_path=str(path),
                n_ctx=config.n_ctx,
                n_threads=threads,
                chat_format=config.chat_format,
                verbose=False,
            )
        return _MODELS[key]


@atexit.register
def _close_models() -> None:
    # Llama.__del__ at interpreter teardown raises inside llama_cpp; close while modules exist.
    with _LOCK:
        for llm in _MODELS.values():
            llm.close()
        _MODELS.clear()


class LlamaCppBackend(Backend):
    name = "llamacpp"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.llm = load_llama(config)

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        for task in tasks:
            if not sink.admit(task):
                return
            sink.emit(task, self.complete(task))

    def complete(self, task: SampleTask) -> Completion:
        s = task.sampling
        kwargs: dict[str, Any] = {
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": s.seed,
            "stop": list(s.stop) if s.stop else None,
        }
        start = time.perf_counter()
        try:
            with _LOCK:
                if task.prompt is not None:
                    out = self.llm.create_completion(task.prompt, **kwargs)
                    choice = out["choices"][0]
                    content, field = choice["text"], None
                else:
                    out = self.llm.create_chat_completion(task.messages, **kwargs)
                    choice = out["choices"][0]
                    msg = choice["message"]
                    content, field = msg.get("content"), msg.get("reasoning_content")
        except Exception as exc:  # a bad prompt (e.g. longer than n_ctx) fails only its sample
            return Completion(error=f"{type(exc).__name__}: {exc}")
        text, reasoning = normalize(content, field)
        usage = out.get("usage") or {}
        pt, ct = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        return Completion(
            text=text,
            reasoning=reasoning,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=pt,
            completion_tokens=ct,
            latency_s=time.perf_counter() - start,
            cost_usd=self.config.cost(pt, ct),
        )
