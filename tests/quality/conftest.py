import json
from pathlib import Path

import polars as pl
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _read_jsonl(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def benchmark_rows() -> dict[str, list[dict]]:
    """Rows of every shipped benchmark file, by name (aime24, math500, ...)."""
    return {p.stem: _read_jsonl(p) for p in sorted((DATA / "benchmarks").glob("*.jsonl"))}


@pytest.fixture(scope="session")
def math_test_rows() -> list[dict]:
    return _read_jsonl(DATA / "seeds" / "math_test.jsonl")


@pytest.fixture(scope="session")
def gsm8k_train_rows() -> list[dict]:
    return _read_jsonl(DATA / "seeds" / "gsm8k_train.jsonl")


# --- stores for the quality stages (decontam, dedup, filter) ---
from store import Store, TableSpec  # noqa: E402

SEEDS_FOR_TESTS = TableSpec(
    "seeds", {"seed_id": "VARCHAR", "problem": "VARCHAR", "source": "VARCHAR", "run_id": "VARCHAR"}
)


@pytest.fixture(scope="session")
def seeds_spec() -> TableSpec:
    return SEEDS_FOR_TESTS


@pytest.fixture
def make_store(tmp_path):
    """make_store([(table_spec, rows_frame), ...]) -> an open Store holding those rows."""
    stores = []

    def _make(tables: list) -> Store:
        store = Store.open(tmp_path / f"store{len(stores)}")
        stores.append(store)
        with store.run("test.load", {}) as run:
            for spec, rows in tables:
                run.insert(spec, rows.with_columns(run_id=pl.lit(run.id)))
        return store

    yield _make
    for store in stores:
        store.close()


# --- a real Label Studio for the review tests (marked `server`) ---
@pytest.fixture(scope="session")
def label_studio():
    """The process's shared Label Studio (quality.review.testing): started once, stopped at exit."""
    from quality.review.testing import shared_server

    return shared_server()


@pytest.fixture
def ls_env(label_studio, monkeypatch: pytest.MonkeyPatch):
    """LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY pointing at the shared server as its admin."""
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    return label_studio
