from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from store import (
    SchemaError,
    SnapshotNotFoundError,
    Store,
    StoreBusyError,
    StoreError,
    TableSpec,
    UnknownTableError,
)

ITEMS = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER"})
KEYED_ITEMS = replace(ITEMS, key=("item_id",))  # inserts skip stored item ids


def _insert(store: Store, ids: list[str], stage: str = "load") -> int:
    with store.run(stage, {"n": len(ids)}) as run:
        frame = pl.DataFrame({"item_id": ids, "value": list(range(len(ids)))})
        return run.insert(KEYED_ITEMS, frame)


def test_each_run_is_one_snapshot_and_time_travel_reads_old_state(store: Store) -> None:
    start = store.snapshot()
    assert _insert(store, ["a", "b"]) == 2
    first = store.snapshot()
    assert first == start + 1
    assert _insert(store, ["b", "c", "c"]) == 1  # b exists, c twice in the input
    assert store.snapshot() == first + 1
    assert sorted(store.table("items", at=first)["item_id"]) == ["a", "b"]
    assert sorted(store.table("items")["item_id"]) == ["a", "b", "c"]
    with pytest.raises(UnknownTableError, match="does not exist .* at snapshot"):
        store.table("items", at=start)


def test_tags_name_snapshots(store: Store) -> None:
    _insert(store, ["a"])
    first = store.snapshot()
    _insert(store, ["b"])
    assert store.tag("v1", first) == first
    assert store.table("items", at="v1")["item_id"].to_list() == ["a"]
    assert "v1" in store.log()["tags"].drop_nulls().to_list()
    with pytest.raises(StoreError, match="already exists"):
        store.tag("v1")
    with pytest.raises(SnapshotNotFoundError, match="no tag 'nope'"):
        store.table("items", at="nope")
    with pytest.raises(SnapshotNotFoundError, match="no snapshot 999"):
        store.table("items", at=999)


def test_failed_run_leaves_the_lake_at_its_snapshot_and_is_journaled(store: Store) -> None:
    _insert(store, ["a"])
    before, rows = store.snapshot(), store.table("items").height
    with pytest.raises(RuntimeError, match="boom"), store.run("broken", {"x": 1}) as run:
        run.insert(ITEMS, pl.DataFrame({"item_id": ["z"], "value": [9]}))
        raise RuntimeError("boom")
    assert store.snapshot() == before
    assert store.table("items").height == rows
    failed = store.runs().filter(pl.col("stage") == "broken").row(0, named=True)
    assert failed["status"] == "failed"
    assert "boom" in failed["error"]
    assert failed["output_snapshot"] is None
    ok = store.runs().filter(pl.col("stage") == "load").row(0, named=True)
    assert (ok["status"], ok["output_snapshot"]) == ("succeeded", before)


def test_run_record_has_counts_version_and_redacted_config(store: Store, monkeypatch) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", "sk-planted-secret-123456")
    config = {
        "api_key": "sk-planted-secret-123456",
        "note": "key=sk-planted-secret-123456",
        "params": {"max_tokens": 16},
    }
    with store.run("load", config) as run:
        run.insert(ITEMS, pl.DataFrame({"item_id": ["a"], "value": [1]}))
        run.count("extra", 3)
    record = store.table("runs").filter(pl.col("stage") == "load").row(0, named=True)
    assert json.loads(record["counts"]) == {"items_inserted": 1, "extra": 3}
    assert record["teachable_version"]
    assert record["input_snapshot"] == store.snapshot() - 1
    for text in (record["config"], store.runs()["config"].str.join("")[0]):
        assert "sk-planted" not in text
    assert json.loads(record["config"])["params"] == {"max_tokens": 16}
    catalog = (store.root / "catalog.sqlite").read_bytes()
    assert b"sk-planted" not in catalog


def test_insert_rejects_undeclared_columns(store: Store) -> None:
    with pytest.raises(SchemaError, match="does not declare.*'extra'"), store.run("bad") as run:
        run.insert(ITEMS, pl.DataFrame({"item_id": ["a"], "extra": [1]}))


def test_schema_versions_upgrade_old_tables_and_refuse_newer_ones(store: Store) -> None:
    _insert(store, ["a"])
    v2 = TableSpec(
        "items",
        {"item_id": "VARCHAR", "value": "INTEGER", "note": "VARCHAR"},
        version=2,
        upgrades={2: ['ALTER TABLE {table} ADD COLUMN "note" VARCHAR']},
    )
    with store.run("upgrade") as run:
        run.insert(v2, pl.DataFrame({"item_id": ["b"], "value": [2], "note": ["new"]}))
    assert store.table("items").columns == ["item_id", "value", "note"]
    with (
        pytest.raises(SchemaError, match="schema version 2.*knows version 1"),
        store.run("old") as run,
    ):
        run.insert(ITEMS, pl.DataFrame({"item_id": ["c"], "value": [3]}))
    v3 = TableSpec("items", dict(v2.columns), version=3)
    with pytest.raises(SchemaError, match="no upgrade to 3"), store.run("v3") as run:
        run.insert(v3, pl.DataFrame({"item_id": ["d"], "value": [4]}))


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s") as store:
        _insert(store, ["a", "b"])
        snapshot = store.snapshot()
    with Store.open(tmp_path / "s", create=False) as store:
        assert store.snapshot() == snapshot
        assert store.table("items").height == 2
    with pytest.raises(StoreError, match="no teachable store"):
        Store.open(tmp_path / "missing", create=False)
    (tmp_path / "s").rename(tmp_path / "moved")  # a store folder can be moved or copied
    with Store.open(tmp_path / "moved", create=False) as store:
        assert store.table("items").height == 2


_WRITER = textwrap.dedent(
    """
    import sys, time
    import polars as pl
    from store import Store, TableSpec
    from store.run import Run
    spec = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER"})
    write = Run._write_pending
    def slow_write(run):  # the commit holds the writer lock: make it a slow one
        write(run)
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    Run._write_pending = slow_write
    store = Store.open(sys.argv[1])
    with store.run("slow-writer") as run:
        run.insert(spec, pl.DataFrame({"item_id": ["child"], "value": [1]}))
    print("done", flush=True)
    """
)


def test_second_writer_gets_a_clear_error_and_nothing_is_corrupted(tmp_path: Path) -> None:
    root = tmp_path / "shared-store"
    Store.open(root).close()
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root), "4"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        with Store.open(root, lock_timeout_s=0.5) as store:
            before = store.snapshot()
            # a reader (a notebook) is not blocked by the writer
            assert store.tables()
            started = time.monotonic()
            with pytest.raises(
                StoreBusyError, match=r"being written by another process.*slow-writer"
            ):
                _insert(store, ["parent"])
            assert time.monotonic() - started < 3
            assert store.snapshot() == before
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
    with Store.open(root) as store:
        assert store.table("items")["item_id"].to_list() == ["child"]
        assert _insert(store, ["parent"]) == 1  # the loser can simply retry
        assert sorted(store.table("items")["item_id"]) == ["child", "parent"]
        # the loser's attempt is journaled as failed, with the reason (nothing reached the lake)
        runs = store.runs()
        assert set(runs["status"]) == {"succeeded", "failed"}
        failed = runs.filter(pl.col("status") == "failed")
        assert failed.height == 1 and "being written by another process" in failed["error"][0]


_KEYED_WRITER = textwrap.dedent(
    """
    import sys
    import polars as pl
    from store import Store, TableSpec
    spec = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER"}, key=("item_id",))
    with Store.open(sys.argv[1], lock_timeout_s=1) as store, store.run("other") as run:
        run.insert(spec, pl.DataFrame({"item_id": sys.argv[2:], "value": 9}))
    """
)


def test_inserts_wait_for_the_commit_and_its_counts_are_reported(tmp_path: Path) -> None:
    """A run's inserts hold no lock: another process commits meanwhile (with a 1 s lock
    timeout), and the run's counts are what its commit landed, not its estimate."""
    root = tmp_path / "store"
    with Store.open(root, lock_timeout_s=2) as store:
        with store.run("load") as run:
            estimate = run.insert(KEYED_ITEMS, pl.DataFrame({"item_id": ["a", "b"], "value": 1}))
            counts = run.count_all({"offered": 2})
            assert estimate == 2 and counts["items_inserted"] == 2
            assert not store.has_table("items")  # nothing written before the commit
            child = [sys.executable, "-c", _KEYED_WRITER, str(root), "a"]
            subprocess.run(child, check=True, timeout=120)
        assert counts == {"offered": 2, "items_inserted": 1}  # "a" was the other run's
        runs = store.runs().sort("started_at")
        assert runs["stage"].to_list()[-2:] == ["load", "other"]
        assert json.loads(runs["counts"][-2])["items_inserted"] == 1
        assert dict(store.table("items").select("item_id", "value").iter_rows()) == {
            "a": 9,
            "b": 1,
        }


def test_latest_orders_runs_by_start_time_not_by_run_id(store: Store) -> None:
    spec = TableSpec("marks", {"key": "VARCHAR", "value": "INTEGER", "run_id": "VARCHAR"})
    # run ids start with the stage name: "zzz-..." sorts after "aaa-..." although it ran first
    for stage, value in (("zzz", 1), ("aaa", 2)):
        with store.run(stage) as run:
            run.insert(spec, pl.DataFrame({"key": ["a", "b"], "value": [value, value]}))
    assert sorted(store.latest("marks", key="key")["value"]) == [2, 2]
    # per key: a later run that touched only "a" supersedes "a" alone
    with store.run("mmm") as run:
        run.insert(spec, pl.DataFrame({"key": ["a"], "value": [3]}))
    current = dict(store.latest("marks", key="key").select("key", "value").iter_rows())
    assert current == {"a": 3, "b": 2}
    # without a key: every row of the latest run; at an earlier snapshot, that one's latest
    assert store.latest("marks")["value"].to_list() == [3]
    assert sorted(store.latest("marks", at=store.snapshot() - 1)["value"]) == [2, 2]
