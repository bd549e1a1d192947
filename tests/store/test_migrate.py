"""`teachable store migrate`: a folder store copied into a PostgreSQL catalog (a real server,
pgserver), with its history (same snapshot ids, same rows at every snapshot, tags and journal)
or squashed into one snapshot."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from store import Store, StoreError, TableSpec

pytestmark = pytest.mark.server

ITEMS = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER", "run_id": "VARCHAR"})
ITEMS_V2 = TableSpec(
    "items",
    {**ITEMS.columns, "note": "VARCHAR"},
    version=2,
    upgrades={2: ['ALTER TABLE {table} ADD COLUMN "note" VARCHAR']},
)
OTHER = TableSpec("other", {"key": "VARCHAR", "run_id": "VARCHAR"})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder store with history: inserts into two tables, a schema upgrade, a tag, an
    empty table, a failed run (journal only)."""
    root = tmp_path / "folder"
    with Store.open(root) as store:
        with store.run("load") as run:
            run.insert(ITEMS, pl.DataFrame({"item_id": ["a", "b"], "value": [1, 2]}))
        with store.run("other") as run:
            run.insert(OTHER, pl.DataFrame({"key": ["k1"]}))
            run.insert(TableSpec("empty", {"x": "INTEGER"}), pl.DataFrame({"x": []}))
        store.tag("before-upgrade")
        with store.run("upgrade") as run:
            run.insert(ITEMS_V2, pl.DataFrame({"item_id": ["c"], "value": [3], "note": ["n"]}))
        with pytest.raises(RuntimeError), store.run("broken"):
            raise RuntimeError("boom")
        with store.run("more") as run:
            run.insert(ITEMS_V2, pl.DataFrame({"item_id": ["d"], "value": [4]}))
            run.insert(OTHER, pl.DataFrame({"key": ["k2"]}))
    return root


def _state(store: Store, at: int) -> dict[str, list[tuple]]:
    return {t: sorted(store.table(t, at=at).rows(), key=str) for t in store.tables(at)}


def test_history_copy_keeps_every_snapshot_id_and_its_rows(
    folder: Path, pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEACHABLE_LOCAL_DIR", str(tmp_path / "local"))
    result = CliRunner().invoke(
        app, ["store", "migrate", str(folder), pg_dsn, "--data-path", str(tmp_path / "files")]
    )
    assert result.exit_code == 0, result.output
    assert "same ids" in result.output
    with Store.open(folder, create=False) as src, Store.open(pg_dsn, create=False) as dst:
        assert dst.snapshot() == src.snapshot()
        for at in range(1, src.snapshot() + 1):  # time travel to every old snapshot
            assert _state(dst, at) == _state(src, at), f"snapshot {at}"
        assert dst.table("items", at="before-upgrade").columns == ["item_id", "value", "run_id"]
        assert dst.log().drop("snapshot_time").equals(src.log().drop("snapshot_time"))
        journal = dst.runs().select("run_id", "status", "output_snapshot", "error")
        assert journal.equals(src.runs().select(journal.columns))
        assert "boom" in journal.filter(pl.col("status") == "failed")["error"].item()
        with dst.run("after") as run:  # the copy is a working store
            run.insert(ITEMS_V2, pl.DataFrame({"item_id": ["e"], "value": [5]}))
        assert dst.table("items").height == 5
    assert any((tmp_path / "files").rglob("*.parquet"))


def test_squash_copies_the_current_rows_as_one_snapshot(
    folder: Path, pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEACHABLE_LOCAL_DIR", str(tmp_path / "local"))
    from store.migrate import migrate

    report = migrate(folder, pg_dsn, data_path=tmp_path / "files", squash=True)
    assert report.dropped_tags == ["before-upgrade"]
    with Store.open(folder, create=False) as src, Store.open(pg_dsn, create=False) as dst:
        assert dst.snapshot() == 1
        current = _state(src, src.snapshot())
        current.pop("tags")
        copied = _state(dst, 1)
        copied_runs = copied.pop("runs")
        assert copied.pop("tags") == []
        assert copied == {k: v for k, v in current.items() if k != "runs"}
        assert len(copied_runs) == len(current["runs"]) + 1  # + the migrate run
        assert dst.log()["stage"].to_list()[0] == "store.migrate"
        assert dst.runs().height == src.runs().height


def test_migrate_refuses_a_target_that_is_not_empty(
    folder: Path, pg_store: Store, pg_dsn: str
) -> None:
    with pytest.raises(StoreError, match="not empty"):
        from store.migrate import migrate

        migrate(folder, pg_dsn)
    result = CliRunner().invoke(app, ["store", "migrate", str(folder), str(folder)])
    assert result.exit_code == 1 and "postgresql:// target" in result.output
