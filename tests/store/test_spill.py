"""A run's pending inserts past a size wait in Parquet files (store._spill), and the commit stays
what it was: one snapshot, keys deduplicated across inserts (first row wins), counts from the
commit, nothing written and no file left when the run fails (issue 23, class 8)."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

import store.run
from store import Store, TableSpec

ITEMS = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER", "note": "VARCHAR"})
KEYED = replace(ITEMS, key=("item_id",))


def _spilled() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob("teachable-spill-*"))


@pytest.fixture
def spill_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store.run, "SPILL_BYTES", 0)


def _batch(ids: list[str], value: int) -> pl.DataFrame:
    return pl.DataFrame({"item_id": ids, "value": [value] * len(ids)})


@pytest.mark.usefixtures("spill_everything")
def test_spilled_inserts_commit_once_with_first_rows_and_true_counts(store: Store) -> None:
    before = _spilled()
    start = store.snapshot()
    with store.run("load") as run:
        run.insert(KEYED, _batch(["a", "b", "b"], 1))
        run.insert(KEYED, _batch(["b", "c"], 2))  # b again: the first row (value 1) stays
        run.insert(KEYED, _batch([], 3))
        run.insert(ITEMS, _batch(["a", "a"], 4), count="plain")  # no key: every row lands
        assert len(_spilled()) == len(before) + 1  # the run's folder, while it is open
    assert store.snapshot() == start + 1
    rows = store.table("items").sort("item_id", "value")
    assert rows.select("item_id", "value").rows() == [
        ("a", 1),
        ("a", 4),
        ("a", 4),
        ("b", 1),
        ("c", 2),
    ]
    assert rows["note"].null_count() == 5
    assert run.counts["items_inserted"] == 5 and run.counts["plain"] == 2
    assert _spilled() == before  # removed at the commit
    with store.run("again") as rerun:  # a re-run lands nothing
        rerun.insert(KEYED, _batch(["a", "b", "c"], 9))
    assert rerun.counts["items_inserted"] == 0


@pytest.mark.usefixtures("spill_everything")
def test_a_failed_run_with_spilled_inserts_writes_nothing_and_leaves_no_file(
    store: Store,
) -> None:
    before, start = _spilled(), store.snapshot()
    with pytest.raises(RuntimeError, match="late failure"), store.run("load") as run:
        for i in range(3):
            run.insert(KEYED, _batch([f"x{i}", f"y{i}"], i))
        raise RuntimeError("late failure")
    assert store.snapshot() == start
    assert not store.has_table("items")
    assert _spilled() == before


def test_small_runs_stay_in_memory(store: Store) -> None:
    before = _spilled()
    with store.run("load") as run:
        run.insert(KEYED, _batch(["a"], 1))
        assert _spilled() == before
    assert run.counts["items_inserted"] == 1


def test_a_dead_process_spill_folder_is_swept(store: Store, spill_everything: None) -> None:
    dead = Path(tempfile.mkdtemp(prefix="teachable-spill-999999999-load-x-"))
    (dead / "000001.parquet").write_bytes(b"left by a killed run")
    with store.run("load") as run:
        run.insert(KEYED, _batch(["a"], 1))
    assert not dead.exists()
