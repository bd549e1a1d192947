"""Offline batched generation with `vllm.LLM` on GPUs (optional extra `gpu`, imported lazily).

Each sample is its own prompt with n=1 and seed `seed + i`, the same rule as every other
backend, so a cached sample means the same thing everywhere; vLLM batches them all at once and
its prefix cache shares the prompt's KV between the samples of one request.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from synth.backends.base import Backend, Completion, SampleTask, Sink, admitted_tasks
from synth.models import ModelConfig
from synth.reasoning import normalize

_ENGINES: dict[tuple[Any, ...], Any] = {}


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.llm = _engine(config)

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        admitted = admitted_tasks(tasks, sink)
        chats = [t for t in admitted if t.messages is not None]
        raws = [t for t in admitted if t.prompt is not None]
        if chats:
            self._run_batch(chats, sink, chat=True)
        if raws:
            self._run_batch(raws, sink, chat=False)

    def _run_batch(self, tasks: list[SampleTask], sink: Sink, chat: bool) -> None:
        params = [self.sampling_params(t) for t in tasks]
        start = time.perf_counter()
        if chat:
            outs = self.llm.chat([t.messages for t in tasks], params, use_tqdm=False)
        else:
            outs = self.llm.generate([t.prompt for t in tasks], params, use_tqdm=False)
        latency = (time.perf_counter() - start) / max(1, len(tasks))  # batch time per sample
        for task, out in zip(tasks, outs, strict=True):
            sink.emit(task, self._completion(out, latency))

    def sampling_params(self, task: SampleTask) -> Any:
        from vllm import SamplingParams

        s = task.sampling
        return SamplingParams(
            n=1,
            temperature=s.temperature,
            top_p=s.top_p,
            max_tokens=s.max_tokens,
            seed=s.seed,
            stop=list(s.stop) if s.stop else None,
        )

    def _completion(self, out: Any, latency: float) -> Completion:
        gen = out.outputs[0]
        text, reasoning = normalize(gen.text, None)
        pt, ct = len(out.prompt_token_ids or ()), len(gen.token_ids)
        return Completion(
            text=text,
            reasoning=reasoning,
            finish_reason=gen.finish_reason,
            prompt_tokens=pt,
            completion_tokens=ct,
            latency_s=latency,
            cost_usd=self.config.cost(pt, ct),
        )


def _engine(config: ModelConfig) -> Any:
    key = (config.model, config.tensor_parallel_size, config.max_model_len)
    if key not in _ENGINES:
        import vllm

        _ENGINES[key] = vllm.LLM(
            model=config.model,
            tensor_parallel_size=config.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization,
            max_model_len=config.max_model_len,
        )
    return _ENGINES[key]
