"""Fixtures for train/: a tiny export (export_fixture.py), and the SmolLM2 model dequantized from
its GGUF once per machine (cached outside the repo, see train.model_loading)."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_fixture import write_export


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="session")
def model_dir() -> Path:
    import torch

    from train.model_loading import trainable_folder

    torch.set_num_threads(1)  # see the note in train/presets/cpu_smoke_sft.yaml
    return trainable_folder("smollm2")


@pytest.fixture(scope="session")
def base_tokenizer():
    """SmolLM2's tokenizer read straight from the GGUF (no dequantized model needed)."""
    from transformers import AutoTokenizer

    from train.model_loading import alias_path

    gguf = alias_path("smollm2")
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


@pytest.fixture(scope="session")
def tokenizer(base_tokenizer):
    import copy

    from train.tokens import prepare_tokenizer

    return prepare_tokenizer(copy.deepcopy(base_tokenizer))[0]
