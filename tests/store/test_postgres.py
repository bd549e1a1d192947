"""The store on a real PostgreSQL catalog (pgserver, started once per session): every store
operation of the folder store's tests, many writer processes at once, real DuckLake conflicts
(retried, or failing with a clear message and nothing written), the journal seen from other
processes, gc without a lock, and the connection string's password kept out of everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

# the folder store's tests, collected here again against the `store` fixture below
from test_store import (  # noqa: F401
    test_each_run_is_one_snapshot_and_time_travel_reads_old_state,
    test_failed_run_leaves_the_lake_at_its_snapshot_and_is_journaled,
    test_insert_rejects_undeclared_columns,
    test_latest_orders_runs_by_start_time_not_by_run_id,
    test_schema_versions_upgrade_old_tables_and_refuse_newer_ones,
    test_tags_name_snapshots,
)
from typer.testing import CliRunner

from curate.cli.main import app
from store import SchemaError, Store, StoreBusyError, StoreError, TableSpec
from store.run import Run

pytestmark = pytest.mark.server

HERE = Path(__file__).resolve().parent
ITEMS = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER", "run_id": "VARCHAR"})
KEYED_ITEMS = replace(ITEMS, key=("item_id",))  # inserts skip stored item ids


@pytest.fixture
def store(pg_store: Store) -> Store:
    return pg_store


@pytest.fixture
def reopen(pg_dsn: str, pg_store: Store) -> Iterator[Callable[[], Store]]:
    """More handles on the test's store, each its own DuckDB connection: other writers."""
    opened: list[Store] = []

    def handle() -> Store:
        opened.append(Store.open(pg_dsn, create=False))
        return opened[-1]

    yield handle
    for other in opened:
        other.close()


def _frame(ids: list[str], value: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"item_id": ids, "value": [value] * len(ids)})


# ---- many writers ------------------------------------------------------------------------------
def _writers(dsn: str, tables: list[str], runs: int, go: Path) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), str(HERE)])}
    return [
        subprocess.Popen(
            [sys.executable, str(HERE / "pg_writer.py"), dsn, str(w), str(runs), table, str(go)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for w, table in enumerate(tables)
    ]


def test_four_processes_times_fifty_runs_all_land_once(
    store: Store, pg_dsn: str, tmp_path: Path
) -> None:
    """The bar: 4 writer processes x 50 runs at once (two tables, two writers each, every
    insert with unique_on): 200 runs, 200 snapshots, every row once, each snapshot readable."""
    start, go = store.snapshot(), tmp_path / "go"
    procs = _writers(pg_dsn, ["items_a", "items_a", "items_b", "items_b"], 50, go)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready-*"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # every writer has imported and opened the store
    go.touch()
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    reports = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0]
    seconds = max(r["seconds"] for r in reports)
    retries = sum(r["retries"] for r in reports)
    print(f"\n4 writers x 50 runs: {200 / seconds:.1f} commits/s, {retries} conflict retries")

    runs = store.table("runs").filter(pl.col("stage") == "writer")
    assert runs.height == 200 and runs["run_id"].n_unique() == 200
    snapshots = store.sql("SELECT snapshot_id FROM lake.snapshots() WHERE snapshot_id > ?", [start])
    assert sorted(snapshots["snapshot_id"]) == list(range(start + 1, start + 201))
    journal = store.runs().filter(pl.col("stage") == "writer")
    assert journal.height == 200 and set(journal["status"]) == {"succeeded"}
    rows = pl.concat([store.table("items_a"), store.table("items_b")])
    assert rows.height == 200 * 3 and rows["item_id"].n_unique() == 600
    # time travel: at each run's snapshot, exactly the rows of the runs committed by then
    done = dict(journal.select("run_id", "output_snapshot").iter_rows())
    made = store.sql(
        "SELECT json_extract_string(commit_extra_info, '$.run_id'), snapshot_id "
        "FROM lake.snapshots() WHERE snapshot_id > ?",
        [start],
    )
    assert dict(made.iter_rows()) == done  # each run's journal names its own snapshot
    born = dict(
        store.sql(
            "SELECT table_name, min(begin_snapshot) FROM __ducklake_metadata_lake.ducklake_table "
            "GROUP BY table_name"
        ).iter_rows()
    )
    reads = [
        f"SELECT {at} AS at, run_id FROM lake.{table} AT (VERSION => {at})"
        for at in done.values()
        for table in ("items_a", "items_b")
        if born[table] <= at
    ]
    seen = store.sql(" UNION ALL ".join(reads)).group_by("at").agg(pl.col("run_id"))
    assert seen.height == 200
    for at, run_ids in seen.iter_rows():
        assert set(run_ids) == {r for r, s in done.items() if s <= at}, f"at snapshot {at}"


# ---- real conflicts ----------------------------------------------------------------------------
@pytest.fixture
def interleave(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Callable[[], None]], list[int]]:
    """`interleave(stage, other)`: when a run of `stage` has written its first attempt and not
    yet committed, `other()` runs (another writer commits in that window). Returns the list
    of the attempts seen, for the test to inspect."""
    original = Run._write_pending
    attempts: list[int] = []

    def install(stage: str, other: Callable[[], None]) -> list[int]:
        def write(self: Run) -> None:
            original(self)
            if self.stage == stage:
                attempts.append(len(attempts) + 1)
                if len(attempts) == 1:
                    other()

        monkeypatch.setattr(Run, "_write_pending", write)
        return attempts

    return install


def test_overlapping_unique_keys_from_concurrent_runs_land_once(
    store: Store, reopen: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs insert overlapping keys with unique_on at once: DuckLake alone would keep both
    copies (concurrent appends never conflict); the table's advisory lock makes the second
    write phase wait for the first commit and skip its keys."""
    with store.run("first") as run:
        run.insert(KEYED_ITEMS, _frame(["a"]))
    slow, fast = reopen(), reopen()
    original, writing = Run._write_pending, threading.Event()

    def write(self: Run) -> None:
        original(self)
        if self.stage == "slow":  # holds the lock, not yet committed
            writing.set()
            time.sleep(1.0)

    monkeypatch.setattr(Run, "_write_pending", write)
    runs: dict[str, Run] = {}

    def insert(handle: Store, stage: str, ids: list[str], value: int) -> None:
        with handle.run(stage) as run:
            run.insert(KEYED_ITEMS, _frame(ids, value))
            if stage == "fast":
                writing.wait(30)  # its commit starts while the slow run holds the lock
        runs[stage] = run

    threads = [
        threading.Thread(target=insert, args=(slow, "slow", ["b", "c"], 1)),
        threading.Thread(target=insert, args=(fast, "fast", ["c", "d"], 2)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    items = store.table("items")
    assert sorted(items["item_id"]) == ["a", "b", "c", "d"]  # "c" once: the first commit's
    assert items.filter(pl.col("item_id") == "c")["value"].item() == 1
    assert runs["fast"].counts["items_inserted"] == 1  # counted again at its commit
    record = store.table("runs").filter(pl.col("run_id") == runs["fast"].id)["counts"].item()
    assert json.loads(record)["items_inserted"] == 1


def test_two_runs_creating_the_same_table_both_land(
    store: Store, reopen: Callable[[], Store], interleave: Callable[..., list[int]]
) -> None:
    other = reopen()
    fresh = TableSpec("fresh", dict(ITEMS.columns))

    def winner() -> None:
        with other.run("winner") as run:
            run.insert(fresh, _frame(["w"]))

    attempts = interleave("loser", winner)
    with store.run("loser") as run:
        run.insert(fresh, _frame(["l"]))
    assert attempts == [1, 2]
    assert sorted(store.table("fresh")["item_id"]) == ["l", "w"]


def test_a_schema_change_meanwhile_fails_the_old_writer_cleanly(
    store: Store, reopen: Callable[[], Store], interleave: Callable[..., list[int]]
) -> None:
    with store.run("first") as run:
        run.insert(ITEMS, _frame(["a"]))
    other = reopen()
    v2 = TableSpec(
        "items",
        {**ITEMS.columns, "note": "VARCHAR"},
        version=2,
        upgrades={2: ['ALTER TABLE {table} ADD COLUMN "note" VARCHAR']},
    )

    def upgrade() -> None:
        with other.run("upgrade") as run:
            run.insert(v2, _frame(["u"]))

    interleave("old", upgrade)
    before = store.snapshot() + 1  # the upgrade commits inside the old run's window
    with (
        pytest.raises(SchemaError, match="schema version 2.*knows version 1"),
        store.run("old") as run,
    ):
        run.insert(ITEMS, _frame(["o"]))
    assert store.snapshot() == before
    assert sorted(store.table("items")["item_id"]) == ["a", "u"]
    failed = store.runs().filter(pl.col("stage") == "old").row(0, named=True)
    assert failed["status"] == "failed" and "schema version 2" in failed["error"]


def test_conflicts_past_the_retry_budget_fail_clearly(
    store: Store,
    reopen: Callable[[], Store],
    interleave: Callable[..., list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEACHABLE_COMMIT_RETRIES", "1")  # read when a store opens
    mine, other = reopen(), reopen()
    fresh = TableSpec("fresh", dict(ITEMS.columns))

    def winner() -> None:
        with other.run("winner") as run:
            run.insert(fresh, _frame(["w"]))

    interleave("loser", winner)
    with (
        pytest.raises(StoreBusyError, match=r"1 attempt\(s\) conflicted.*Transaction conflict"),
        mine.run("loser") as run,
    ):
        run.insert(fresh, _frame(["l"]))
    assert store.table("fresh")["item_id"].to_list() == ["w"]  # nothing of the loser
    failed = store.runs().filter(pl.col("stage") == "loser").row(0, named=True)
    assert failed["status"] == "failed" and "TEACHABLE_COMMIT_RETRIES" in failed["error"]


# ---- the journal across processes --------------------------------------------------------------
_CHILD = """
import sys, time
import polars as pl
from store import Store, TableSpec
spec = TableSpec("items", {"item_id": "VARCHAR", "value": "INTEGER", "run_id": "VARCHAR"})
store = Store.open(sys.argv[1], create=False)
try:
    with store.run("child-fails") as run:
        run.insert(spec, pl.DataFrame({"item_id": ["x"], "value": [1]}))
        raise RuntimeError("child stage broke")
except RuntimeError:
    pass
with store.run("child-hangs") as run:
    run.insert(spec, pl.DataFrame({"item_id": ["y"], "value": [1]}))
    print("running", flush=True)
    time.sleep(600)
"""


def test_failed_and_crashed_runs_of_another_process_are_journaled(
    store: Store, pg_dsn: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, pg_dsn], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "running"
        live = store.runs().filter(pl.col("stage") == "child-hangs")
        assert live["status"].to_list() == ["running"]  # alive: not settled
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    with Store.open(pg_dsn, create=False) as other:
        runs = {r["stage"]: r for r in other.runs().iter_rows(named=True)}
    assert runs["child-fails"]["status"] == "failed"
    assert "child stage broke" in runs["child-fails"]["error"]
    assert runs["child-hangs"]["status"] == "crashed"
    assert "killed" in runs["child-hangs"]["error"]
    assert not store.has_table("items")  # neither run reached the lake


# ---- gc, opening, secrets ----------------------------------------------------------------------
def test_gc_removes_old_orphans_and_keeps_a_guard_age(store: Store, tmp_path: Path) -> None:
    with store.run("load") as run:
        run.insert(ITEMS, _frame(["a"]))
    folder = tmp_path / "pg-data" / "main" / "items"
    orphan = folder / "ducklake-00000000-0000-0000-0000-000000000000.parquet"
    orphan.write_bytes(b"left by a killed run")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    with pytest.raises(StoreError, match="shared .*PostgreSQL.* younger than 60 s"):
        store.gc(min_age_s=0)
    report = store.gc(min_age_s=60)
    assert report.removed == [str(orphan)] and not orphan.exists()
    assert store.table("items")["item_id"].to_list() == ["a"]  # live files untouched
    assert report.least_min_age_s == 60


def test_gc_on_postgresql_suggests_only_what_it_accepts(
    store: Store, pg_dsn: str, tmp_path: Path
) -> None:
    """The hint for young files names a --min-age the shared store accepts (never 0)."""
    with store.run("load") as run:
        run.insert(ITEMS, _frame(["a"]))
    young = (
        tmp_path
        / "pg-data"
        / "main"
        / "items"
        / ("ducklake-11111111-0000-0000-0000-000000000000.parquet")
    )
    young.write_bytes(b"a run may be committing this")
    result = CliRunner().invoke(app, ["store", "gc", "--store", pg_dsn])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "--min-age 60 removes" in text and "--min-age 0" not in text
    assert young.exists()
    accepted = CliRunner().invoke(app, ["store", "gc", "--min-age", "60", "--store", pg_dsn])
    assert accepted.exit_code == 0, accepted.output


def test_opening_needs_a_data_path_once_and_names_missing_stores(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEACHABLE_LOCAL_DIR", str(tmp_path / "local"))
    dsn = pg_dsn
    with pytest.raises(StoreError, match="no teachable store in postgresql://"):
        Store.open(dsn, create=False)
    with pytest.raises(StoreError, match="needs a data path.*TEACHABLE_DATA_PATH"):
        Store.open(dsn)
    refused = CliRunner().invoke(app, ["init", dsn])
    assert refused.exit_code == 1 and "--data-path" in refused.output
    monkeypatch.setenv("TEACHABLE_DATA_PATH", str(tmp_path / "files"))
    with Store.open(dsn) as store:
        with store.run("load") as run:
            run.insert(ITEMS, _frame(["a"]))
        assert store.local_dir == tmp_path / "local"
    monkeypatch.delenv("TEACHABLE_DATA_PATH")
    with Store.open(dsn, create=False) as store:  # the catalog remembers its data path
        assert store.table("items")["item_id"].to_list() == ["a"]
    ready = CliRunner().invoke(app, ["init", dsn])
    assert ready.exit_code == 0 and "store ready at postgresql://" in ready.output
    assert any((tmp_path / "files").rglob("*.parquet"))


@pytest.fixture
def secret_dsn(pg_dsn: str) -> tuple[str, str]:
    """A `postgresql://role:password@/db?host=...` string for a login role of its own (the
    server trusts its socket, so the password is never checked: only carried)."""
    import psycopg
    from psycopg import conninfo

    params = conninfo.conninfo_to_dict(pg_dsn)
    db, password = str(params["dbname"]), "pw-Kx93-never-stored"
    role = f"teach_{db}"
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        con.execute(f"ALTER DATABASE {db} OWNER TO {role}")
    return f"postgresql://{role}:{password}@/{db}?host={params['host']}", password


def test_the_password_never_reaches_runs_journal_logs_or_errors(
    secret_dsn: tuple[str, str], tmp_path: Path, monkeypatch, caplog
) -> None:
    dsn, password = secret_dsn
    monkeypatch.setenv("TEACHABLE_LOCAL_DIR", str(tmp_path / "local"))
    with Store.open(dsn, data_path=tmp_path / "files") as store:
        assert password not in store.name and password not in repr(store)
        with store.run("load", {"source": dsn}) as run:
            run.insert(ITEMS, _frame(["a"]))
        with pytest.raises(RuntimeError), store.run("broken"):
            raise RuntimeError(f"could not reach {dsn}")
        store.tag("v1")
        texts = [
            store.table("runs").write_csv(),
            store.runs().write_csv(),
            store.log().drop("snapshot_time").write_csv(),
            str(store.sql("SELECT * FROM lake.snapshots()").rows()),
        ]
    for text in texts:
        assert password not in text
    with pytest.raises(StoreError) as refused:
        Store.open(dsn.replace("@/t_", "@/missing_"), create=False)
    texts.append(str(refused.value))
    texts.append(caplog.text)
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1]), "TEACHABLE_STORE": dsn}
    cli = subprocess.run(  # the store named by the environment, as on a cluster
        [sys.executable, "-m", "curate.cli", "log", "--runs"], capture_output=True, text=True,
        env=env,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "broken" in cli.stdout
    helps = subprocess.run(
        [sys.executable, "-m", "curate.cli", "log", "--help"], capture_output=True, text=True,
        env=env,
    )  # fmt: skip
    assert "TEACHABLE_STORE" in helps.stdout
    for text in [*texts, cli.stdout, cli.stderr, helps.stdout]:
        assert password not in text


# ---- what is printed is what landed (issue 23, class 3) ----------------------------------------
@pytest.mark.parametrize(
    ("mine", "theirs", "landed"), [(["a", "b"], ["a", "b"], 0), (["a", "b", "c"], ["b"], 2)]
)
def test_the_counts_a_stage_returns_are_the_commits(
    store: Store, reopen: Callable[[], Store], mine: list[str], theirs: list[str], landed: int
) -> None:
    """A run's estimate is made before another run commits the same keys; the mapping the
    stage returns (count_all) is the run's live counts, corrected at the commit."""
    other = reopen()
    with store.run("mine") as run:
        run.insert(KEYED_ITEMS, _frame(mine))
        returned = run.count_all({"rows_read": len(mine)})
        assert returned["items_inserted"] == len(mine)  # the estimate
        with other.run("theirs") as them:
            them.insert(KEYED_ITEMS, _frame(theirs))
    assert returned["items_inserted"] == landed
    assert store.table("items").height == len(set(mine) | set(theirs))
    record = store.table("runs").filter(pl.col("run_id") == run.id)["counts"].item()
    assert json.loads(record) == returned


def test_concurrent_ingests_of_one_file_print_what_landed(
    store: Store, reopen: Callable[[], Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curate.seeds import ingest

    path = tmp_path / "seeds.jsonl"
    path.write_text(
        "".join(json.dumps({"problem": f"Q{i}?", "answer": i}) + "\n" for i in range(5))
    )
    config = ingest.IngestConfig(source=str(path), name="s")
    other, nested = reopen(), {}
    write_rejects = ingest._write_rejects

    def racing(run: Run, source: str, rejects: list) -> None:  # inside the first run's block
        if not nested:
            nested["counts"] = {}
            nested["counts"] = ingest.run_ingest(other, config)
        write_rejects(run, source, rejects)

    monkeypatch.setattr(ingest, "_write_rejects", racing)
    first = ingest.run_ingest(store, config)
    assert nested["counts"]["seeds_inserted"] == 5
    assert first["seeds_inserted"] == 0 and first["seed_sources_inserted"] == 0
    assert store.table("seeds").height == 5
