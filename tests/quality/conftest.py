import json
from pathlib import Path

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
