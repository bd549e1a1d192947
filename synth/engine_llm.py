"""The vllm backend on the ray engine: Ray Data's LLM batch stage (`ray.data.llm`).

Each sample task is one row with n=1 and its own seed (`seed + i`), exactly as the local
`VLLMBackend` sends it, so a cached sample means the same thing on both engines. Chat tasks go
through the stage's chat template; raw prompts (base models) skip it. Ray Data runs
`GPUs // tensor_parallel_size` vLLM replicas and feeds them batches; this module only maps our
tasks to its rows and its rows back to `Completion`s.

ray.data.llm reports no finish reason: a sample that used all of `max_tokens` is recorded as
`length` (truncated), any other as `stop`.

Only runs where vLLM and GPUs are (the lent GPU machine has no vLLM); tests check the row
mapping and that the plan is chosen and refused correctly
(tests/synth/test_engine_generation.py).
"""

from __future__ import annotations

import json
from typing import Any

from store.engine import EngineError
from synth.backends import Completion
from synth.engine import llm_problem, task_from_row
from synth.models import ModelConfig
from synth.reasoning import normalize

BATCH_SIZE = 64  # rows per call of a vLLM replica: ray.data.llm's documented default scale


def processor_config(config: ModelConfig, replicas: int, chat: bool) -> Any:
    """The vLLMEngineProcessorConfig for `config` on `replicas` data-parallel engines."""
    from ray.data.llm import vLLMEngineProcessorConfig

    engine = {
        "tensor_parallel_size": config.tensor_parallel_size,
        "gpu_memory_utilization": config.gpu_memory_utilization,
        "enable_prefix_caching": True,  # the samples of one request share their prompt
    }
    if config.max_model_len is not None:
        engine["max_model_len"] = config.max_model_len
    return vLLMEngineProcessorConfig(
        model_source=config.model,
        engine_kwargs=engine,
        concurrency=replicas,
        batch_size=BATCH_SIZE,
        chat_template_stage=chat,
        tokenize_stage=True,
        detokenize_stage=True,
    )


def to_llm_row(row: dict[str, Any]) -> dict[str, Any]:
    """Our task row -> ray.data.llm's input: messages or prompt, and per-row sampling params."""
    task = task_from_row(row["task"])
    s = task.sampling
    params = {
        "n": 1,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "seed": s.seed,
        "stop": list(s.stop) if s.stop else None,
    }
    text = {"messages": task.messages} if task.messages is not None else {"prompt": task.prompt}
    return {"i": row["i"], "max_tokens": s.max_tokens, "sampling_params": params, **text}


def from_llm_row(config: ModelConfig, row: dict[str, Any]) -> dict[str, Any]:
    """ray.data.llm's output row -> ours: the task's position and its Completion as JSON."""
    text, reasoning = normalize(row.get("generated_text") or "", None)
    pt, ct = int(row.get("num_input_tokens") or 0), int(row.get("num_generated_tokens") or 0)
    completion = Completion(
        text=text,
        reasoning=reasoning,
        finish_reason="length" if ct >= int(row["max_tokens"]) else "stop",
        prompt_tokens=pt,
        completion_tokens=ct,
        latency_s=float(row.get("time_taken_llm") or 0.0),
        cost_usd=config.cost(pt, ct),
    )
    return {"i": row["i"], "completion": completion.to_json()}


def llm_dataset(ray: Any, config: ModelConfig, table: Any) -> Any:
    """The results of the tasks in `table` (i, task), as a Ray Dataset of (i, completion)."""
    from ray.data.llm import build_processor

    gpus = float(ray.cluster_resources().get("GPU", 0))
    problem = llm_problem(config, has_vllm=True, gpus=gpus)
    if problem:
        raise EngineError(problem)
    replicas = max(1, int(gpus) // config.tensor_parallel_size)
    chat = [json.loads(t)[2] is not None for t in table["task"].to_pylist()]
    parts = []
    for is_chat in (True, False):
        rows = table.filter([c == is_chat for c in chat])
        if rows.num_rows == 0:
            continue
        processor = build_processor(
            processor_config(config, replicas, is_chat),
            preprocess=to_llm_row,
            postprocess=lambda row: from_llm_row(config, row),
        )
        parts.append(processor(ray.data.from_arrow(rows)))
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
