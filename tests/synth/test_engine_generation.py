"""The ray engine (synth.engine): the same rows as the local engine, nothing lost to a killed
worker, and the vLLM plan (ray.data.llm) chosen and refused correctly.

A local Ray cluster with 2 CPUs is started once per test session (about 10 s) and shared with
tests/quality/test_engine_kernels.py; the model is the loopback OpenAI-compatible server, so
what is compared is teachable's own plumbing: cache keys, cache hits, attempts, bands, traces.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from loopback import LoopbackServer, serve_in_thread

from curate.seeds.ingest import IngestConfig, run_ingest
from curate.teachability.difficulty import DifficultyConfig, run_difficulty
from store import Store
from store.engine import EngineError, current_engine, set_engine
from synth.backends import ChatRequest
from synth.cache import CACHE_FILE, RequestCache
from synth.engine import RayBackend, engine_backend, llm_problem, plan, task_from_row, task_row
from synth.generate import generate, sample_tasks
from synth.models import ModelConfig
from synth.traces import TracesConfig, run_traces


@pytest.fixture
def engine() -> Iterator[None]:
    """Every test leaves the process engine as it found it."""
    yield
    set_engine(None)


def _seeds_file(tmp_path: Path) -> Path:
    """Ten seeds; the loopback server always answers 4, so half are too easy, half too hard."""
    path = tmp_path / "seeds.jsonl"
    rows = [
        {"problem": f"Problem {i}: what is {i} + {4 - i if i < 5 else i}?", "answer": str(a)}
        for i, a in enumerate([4] * 5 + [9] * 5)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _pipeline(root: Path, seeds: Path, server: LoopbackServer, engine: str) -> Store:
    """Ingest, difficulty and traces on `engine`; the store stays open for the checks."""
    set_engine(engine)
    model = ModelConfig(backend="openai", model="loopback", base_url=server.base_url)
    store = Store.open(root)
    run_ingest(store, IngestConfig(source=str(seeds), name="t"))
    run_difficulty(store, DifficultyConfig(weak=[model], samples=4, adaptive=False))
    run_traces(store, TracesConfig(teacher=model, samples=2, max_new=32))
    return store


def _rows(store: Store, table: str, key: list[str]) -> pl.DataFrame:
    """The table without what differs between any two runs: run ids and measured latencies."""
    frame = store.table(table)
    return frame.drop([c for c in frame.columns if c in ("run_id", "latency_s")]).sort(key)


def _cache_keys(store: Store) -> set[str]:
    with RequestCache.for_store(store) as cache:
        return {k for (k,) in cache._con.execute("SELECT key FROM completions")}


def test_ray_gives_the_local_rows_keys_and_hits(tmp_path: Path, ray_cluster, engine) -> None:
    seeds = _seeds_file(tmp_path)
    with serve_in_thread() as server:
        local = _pipeline(tmp_path / "local", seeds, server, "local")
        on_ray = _pipeline(tmp_path / "ray", seeds, server, "ray")
        try:
            for table, key in (
                ("attempts", ["attempt_id"]),
                ("difficulty", ["seed_id"]),
                ("traces", ["trace_id"]),
            ):
                assert _rows(on_ray, table, key).equals(_rows(local, table, key)), table
            bands = _rows(on_ray, "difficulty", ["seed_id"])["band"]
            assert sorted(set(bands)) == ["too_easy", "too_hard"]
            assert _cache_keys(on_ray) == _cache_keys(local) and len(_cache_keys(local)) == 60
        finally:
            local.close()
            on_ray.close()
        # the local engine's cache serves the ray engine: every sample is a hit, none is sent
        hits = tmp_path / "hits"
        hits.mkdir()
        (hits / CACHE_FILE).write_bytes((tmp_path / "local" / CACHE_FILE).read_bytes())
        sent = sum(server.attempts.values())
        again = _pipeline(hits, seeds, server, "ray")
        assert sum(server.attempts.values()) == sent
        assert again.table("traces").height == 20
        again.close()


def _ray_workers() -> list[int]:
    """Process ids of the Ray Data workers running `_Generate` (Ray sets their titles)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if "_Generate" in " ".join(proc.info["cmdline"] or ()):
            found.append(proc.info["pid"])
    return found


def test_a_killed_worker_loses_nothing(tmp_path: Path, ray_cluster) -> None:
    """SIGKILL one worker mid-run: Ray Data restarts it and retries its batch, so the run
    finishes with every sample, and a re-run finds them all in the cache."""
    requests = [
        ChatRequest(messages=[{"role": "user", "content": f"question {i}"}]) for i in range(240)
    ]
    killed: list[int] = []
    with serve_in_thread(delay_s=0.25) as server:
        config = ModelConfig(
            backend="openai", model="loopback", base_url=server.base_url, concurrency=4
        )

        def kill_one_worker_mid_run() -> None:
            deadline = time.monotonic() + 120
            while sum(server.served.values()) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            workers = _ray_workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])

        killer = threading.Thread(target=kill_one_worker_mid_run)
        killer.start()
        with RequestCache(tmp_path / "cache.sqlite") as cache:
            first = generate(RayBackend(config), requests, cache=cache)
            killer.join()
            again = generate(RayBackend(config), requests, cache=cache)
        assert killed, "no Ray worker was found to kill"
        assert first.stats["sent"] == 240 and first.stats["failed"] == 0
        assert all(row[0] is not None and row[0].ok for row in first.completions)
        assert again.stats["cached"] == 240 and again.stats["sent"] == 0
        # every request reached the server; only the killed worker's batch was sent twice
        assert len(server.served) == 240
        assert sum(server.served.values()) - 240 <= 16  # one batch: 4 x concurrency


def test_the_ray_backend_keeps_the_configured_backends_cache_identity() -> None:
    config = ModelConfig(backend="openai", model="loopback", base_url="http://127.0.0.1:9/v1")
    requests = [ChatRequest(messages=[{"role": "user", "content": "2+2?"}], n=3, seed=7)]
    local = sample_tasks(engine_backend(config), requests)
    on_ray = sample_tasks(RayBackend(config), requests)
    assert [t.key for t in on_ray] == [t.key for t in local]
    rebuilt = [task_from_row(task_row(t)) for t in local]
    assert [t.canonical() for t in rebuilt] == [t.canonical() for t in local]


def test_engine_setting_is_checked(monkeypatch: pytest.MonkeyPatch, engine) -> None:
    monkeypatch.setenv("TEACHABLE_ENGINE", "dask")
    with pytest.raises(ValueError, match=r"\$TEACHABLE_ENGINE: unknown engine 'dask'"):
        current_engine()
    set_engine("ray")  # an explicit choice wins over the environment
    assert current_engine() == "ray"
    with pytest.raises(ValueError, match="known: local, ray"):
        set_engine("spark")


def test_plans() -> None:
    openai = ModelConfig(backend="openai", model="m")
    vllm = ModelConfig(backend="vllm", model="Qwen/Qwen3-0.6B", tensor_parallel_size=2)
    assert plan(openai, "local") == plan(vllm, "local") == "local"
    assert plan(openai, "ray") == "map_batches"
    assert plan(ModelConfig(backend="llamacpp"), "ray") == "map_batches"
    assert plan(vllm, "ray") == "llm"
    assert plan(openai.model_copy(update={"batch_api": True}), "ray") == "local"
    # the synthetic teacher reads worked solutions from the store only this process holds
    assert plan(ModelConfig(backend="synthetic", model="synthetic"), "ray") == "local"
    assert llm_problem(vllm, has_vllm=True, gpus=2) is None
    assert "needs 2 GPU(s) per replica; the Ray cluster has 1" in str(
        llm_problem(vllm, has_vllm=True, gpus=1)
    )
    assert "pip install 'teachable[gpu,scale]'" in str(llm_problem(vllm, has_vllm=False, gpus=8))


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_vllm_on_ray_is_refused_without_vllm(engine) -> None:
    set_engine("ray")
    with pytest.raises(EngineError, match=r"ray\.data\.llm.*needs vLLM"):
        engine_backend(ModelConfig(backend="vllm", model="Qwen/Qwen3-0.6B"))


def test_llm_rows_map_to_and_from_our_tasks() -> None:
    from synth.engine_llm import from_llm_row, processor_config, to_llm_row

    config = ModelConfig(backend="vllm", model="Qwen/Qwen3-0.6B", max_model_len=4096)
    chat, raw = sample_tasks(
        RayBackend(config, "llm"),
        [
            ChatRequest(messages=[{"role": "user", "content": "2+2?"}], max_tokens=8, seed=3),
            ChatRequest(prompt="Q: 2+2?\nA:", stop=["\n"], temperature=0.0),
        ],
    )
    row = to_llm_row({"i": 0, "task": task_row(chat)})
    assert row["messages"] == chat.messages and "prompt" not in row
    assert row["sampling_params"] == {
        "n": 1, "temperature": 0.7, "top_p": 1.0, "max_tokens": 8, "seed": 3, "stop": None,
    }  # fmt: skip
    raw_row = to_llm_row({"i": 1, "task": task_row(raw)})
    assert raw_row["prompt"] == "Q: 2+2?\nA:" and raw_row["sampling_params"]["stop"] == ["\n"]
    out = from_llm_row(
        config,
        {**row, "generated_text": "<think>2+2</think>4", "num_input_tokens": 9,
         "num_generated_tokens": 8},
    )  # fmt: skip
    completion = json.loads(out["completion"])
    assert out["i"] == 0 and completion["text"] == "4" and completion["reasoning"] == "2+2"
    assert completion["finish_reason"] == "length" and completion["prompt_tokens"] == 9
    made = processor_config(config, replicas=4, chat=False)
    assert made.model_source == "Qwen/Qwen3-0.6B" and made.concurrency == 4
    assert made.engine_kwargs["max_model_len"] == 4096 and not made.chat_template_stage


def test_a_recipe_sets_the_engine(tmp_path: Path, engine) -> None:
    from curate.pipeline import RecipeError, load_recipe

    recipe = tmp_path / "r.yaml"
    recipe.write_text("engine: spark\nstages:\n  - stage: dedup\n")
    with pytest.raises(RecipeError, match=r"r\.yaml: engine: unknown engine 'spark'"):
        load_recipe(recipe, check_inputs=False)
    recipe.write_text("engine: ray\nstages:\n  - stage: dedup\n")
    load_recipe(recipe, check_inputs=False)
    assert current_engine() == "ray"
