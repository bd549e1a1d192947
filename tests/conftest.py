"""Fixtures shared by every test folder: the shared data directory and a fresh store.

The whole session runs with TEACHABLE_DATA_DIR at the shared data folder, as CI does, so the
shipped benchmark registry serves its default set from the mirror files there (no network).
Tests of the "missing" case unset it with monkeypatch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.benchmarks import DATA_DIR_ENV, REGISTRY_ENV
from store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _benchmark_mirror() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_ENV, str(SHARED_DATA))
        patch.delenv(REGISTRY_ENV, raising=False)  # a developer's own registry stays out
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA} (it must sit beside the repo)")
    return SHARED_DATA


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store", lock_timeout_s=2)
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests never write into a developer's ./teachable-data by accident
    if "TEACHABLE_STORE" in os.environ:
        monkeypatch.delenv("TEACHABLE_STORE")
