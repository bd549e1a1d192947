"""Fixtures for synth tests: the SmolLM2 GGUF, a real llama.cpp server, the loopback server,
and a store holding a few synthetic seeds."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loopback import LoopbackServer, serve_in_thread

from store import Store
from synth.models import ModelConfig, resolve_gguf


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    path = resolve_gguf(ModelConfig())
    assert path.is_file() and path.stat().st_size > 50_000_000
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port; yields its /v1 base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not start in 120 s")
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with serve_in_thread() as server:
        yield server


@pytest.fixture
def loopback_config() -> Callable[..., ModelConfig]:
    """Factory: an openai-backend config for a loopback server, with fast test timeouts."""
    return _loopback_config


def _loopback_config(server: LoopbackServer, **overrides: object) -> ModelConfig:
    fields: dict[str, object] = {
        "backend": "openai",
        "model": "loopback",
        "base_url": server.base_url,
        "timeout_s": 0.5,
        "backoff_base_s": 0.02,
        "backoff_max_s": 2.0,
        "concurrency": 8,
        **overrides,
    }
    return ModelConfig.model_validate(fields)


@pytest.fixture
def seeded_store(store: Store) -> Store:
    """A store with 6 synthetic seeds (exact answers)."""
    from curate.synthetic.generate import SynthConfig, run_synth

    run_synth(store, SynthConfig(count=6, seed=1))
    return store
