"""Fixtures shared by every test folder: the shared data directory, a fresh store, and one
real PostgreSQL server per session for the tests that need one.

The whole session runs with TEACHABLE_DATA_DIR at the shared data folder, as CI does, so the
shipped benchmark registry serves its default set from the mirror files there (no network).
Tests of the "missing" case unset it with monkeypatch."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from quality.benchmarks.registry import DATA_DIR_ENV, REGISTRY_ENV
from store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TEACHABLE_SOAK") != "1":
        soak = pytest.mark.skip(reason="soak test: set TEACHABLE_SOAK=1 to run it")
        for item in items:
            if "soak" in item.keywords:
                item.add_marker(soak)
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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Callable[[], str]]:
    """A real PostgreSQL server (pgserver from PyPI: PostgreSQL binaries in a wheel), started
    once per session; calling the fixture's value creates a fresh database and returns its
    connection string. Its folder is world-readable because, run as root, pgserver runs
    postgres as its own `pgserver` user (pytest's tmp folders are private to root); the
    server outlives this process unless stopped, so teardown stops it explicitly."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver (dev dependency) not installed")
    folder = Path(tempfile.mkdtemp(prefix="teachable-pg-"))
    folder.chmod(0o755)
    server = pgserver.get_server(folder, cleanup_mode="stop")

    def new_database() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        server.psql(f"CREATE DATABASE {name};")
        return server.get_uri(name)

    try:
        yield new_database
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_dsn(postgres: Callable[[], str]) -> str:
    """The connection string of a fresh database on the session's PostgreSQL server."""
    return postgres()


@pytest.fixture
def pg_store(pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A fresh store on a PostgreSQL catalog (`pg_dsn`), data files in tmp_path/pg-data, this
    machine's folder for it in tmp_path/local."""
    monkeypatch.setenv("TEACHABLE_LOCAL_DIR", str(tmp_path / "local"))
    opened = Store.open(pg_dsn, data_path=tmp_path / "pg-data", lock_timeout_s=2)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local 2-CPU cluster shared by the engine tests (Ray shuts it down at exit)."""
    import ray  # only the tests that use the cluster pay for the import

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
