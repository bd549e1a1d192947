"""Fixtures shared by the ingest tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ingest_cases import jsonl  # tests/curate/ingest_cases.py

from curate.seeds.ingest import IngestConfig, run_ingest
from store import Store


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for the case tables (opening a store costs more than a case): each case has
    its own source name, and checks the store's state around its own run."""
    root = tmp_path_factory.mktemp("lake")
    (root / "seed.jsonl").write_bytes(jsonl({"problem": "Seeded before?"}))
    with Store.open(root / "store", lock_timeout_s=2) as opened:
        run_ingest(opened, IngestConfig(source=str(root / "seed.jsonl"), name="seed"))
        yield opened
