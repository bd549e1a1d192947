"""GPU paths: a DeepSpeed ZeRO-3 SFT step and GRPO with vLLM generation. Skipped without CUDA
(tests/conftest.py) and without the optional packages."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


@pytest.fixture
def single_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a launcher sets for rank 0 of a world of one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1",
    }.items():
        monkeypatch.setenv(key, value)


def test_zero3_sft_steps(single_process_group, export_dir: Path, model_dir: Path, tmp_path: Path):
    pytest.importorskip("deepspeed")
    from train.config_io import load_config
    from train.sft import run_sft
    from train.sft_config import SFTRunConfig

    cfg = load_config(
        SFTRunConfig,
        "cpu_smoke_sft",
        dataset=str(export_dir),
        model=str(model_dir),
        output_dir=str(tmp_path / "zero3"),
        deepspeed="zero3",
        bf16=True,
        max_steps=2,
        save_strategy="no",
        torch_threads=None,
    )
    summary = run_sft(cfg)
    assert summary["global_step"] == 2
    assert (tmp_path / "zero3" / "model.safetensors").exists()  # gathered 16-bit weights


def test_grpo_with_vllm(single_process_group, export_dir: Path, model_dir: Path, tmp_path: Path):
    pytest.importorskip("vllm")
    from train.config_io import load_config
    from train.grpo import run_grpo
    from train.grpo_config import GRPORunConfig
    from train.report import read_metrics

    cfg = load_config(
        GRPORunConfig,
        "cpu_smoke_grpo",
        dataset=str(export_dir),
        model=str(model_dir),
        output_dir=str(tmp_path / "vllm"),
        use_vllm=True,
        vllm_mode="colocate",
        vllm_gpu_memory_utilization=0.3,
        bf16=True,
        max_completion_length=32,
        torch_threads=None,
    )
    assert run_grpo(cfg)["global_step"] == 2
    rows = [r for r in read_metrics(tmp_path / "vllm") if "reward" in r]
    assert len(rows) == 2 and all(r["completions/max_length"] <= 32 for r in rows)
