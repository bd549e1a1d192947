"""Crashes are visible and leave nothing behind.

A stage run is SIGKILLed at many points (spread by time through `seeds add` and `traces` runs,
and at named places: lock held, part written, all written but not committed, committed but not
journaled). After each kill the journal, the lake and data/ must agree: no `running` row of a
dead process, the journal's `succeeded` runs are exactly the lake's `runs` rows (with their
snapshots), a run's rows are all there or none, gc leaves exactly the files the catalog
references, every snapshot can still be read, and a re-run works.

Children come from a forkserver that imported the stages once (tests/store/crash_proc.py).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from multiprocessing.context import ForkServerContext
from pathlib import Path

import crash_proc
import polars as pl
import pytest
from loopback import serve_in_thread
from typer.testing import CliRunner

from curate.cli.main import app
from store import Store, StoreBusyError
from store._process import identity

N_SEEDS = 2000
KILLS = 20


@pytest.fixture(scope="module")
def fork() -> ForkServerContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["store", "curate.seeds.ingest", "synth.traces", "crash_proc"])
    return ctx


def _source(folder: Path, tag: str, n: int = N_SEEDS) -> Path:
    path = folder / f"seeds-{tag}.jsonl"
    with path.open("w") as out:
        for i in range(n):
            row = {"problem": f"[{tag}] What is {i} times {i + 3}?", "answer": str(i * (i + 3))}
            out.write(json.dumps(row) + "\n")
    return path


def _run_ids(root: Path) -> set[str]:
    with sqlite3.connect(root / "journal.sqlite") as con:
        return {row[0] for row in con.execute("SELECT run_id FROM runs")}


def _journal_row(root: Path, run_id: str) -> dict[str, object]:
    """The journal row as stored (not as `runs()` would settle it)."""
    with sqlite3.connect(root / "journal.sqlite") as con:
        con.row_factory = sqlite3.Row
        return dict(con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchone())


def _child(
    fork: ForkServerContext, target: Callable[..., None], *args: object, kill_after_s: float | None
) -> tuple[str | None, float, int | None]:
    """Run `target(*args)` in a child; SIGKILL it `kill_after_s` after its run is journaled.
    Returns (the run id, seconds from journaling to exit or kill, exit code)."""
    root = Path(str(args[0]))
    known = _run_ids(root)
    proc = fork.Process(target=target, args=args)
    proc.start()
    deadline = time.monotonic() + 120
    run_id = None
    while run_id is None and proc.is_alive() and time.monotonic() < deadline:
        run_id = next(iter(_run_ids(root) - known), None)
        time.sleep(0.005)
    started = time.monotonic()
    proc.join(kill_after_s if run_id else 120)
    if proc.is_alive():
        proc.kill()
        proc.join()
    run_id = run_id or next(iter(_run_ids(root) - known), None)
    return run_id, time.monotonic() - started, proc.exitcode


def _referenced(store: Store) -> set[str]:
    """Files under data/ that the catalog references (data and delete files, any snapshot)."""
    meta = "__ducklake_metadata_lake"
    rows = store.sql(
        f"""SELECT DISTINCT s.path || t.path || f.path AS path, f.path_is_relative AS rel
            FROM (SELECT table_id, path, path_is_relative FROM {meta}.ducklake_data_file
                  UNION ALL
                  SELECT table_id, path, path_is_relative FROM {meta}.ducklake_delete_file) f
            JOIN (SELECT DISTINCT table_id, schema_id, path FROM {meta}.ducklake_table) t
              USING (table_id)
            JOIN (SELECT DISTINCT schema_id, path FROM {meta}.ducklake_schema) s
              USING (schema_id)"""
    )
    assert rows["rel"].cast(pl.Boolean).all(), "teachable writes relative data file paths"
    return set(rows["path"])


def _on_disk(root: Path) -> set[str]:
    data = root / "data"
    return {str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()}


def _assert_consistent(store: Store, checked: set[int]) -> pl.DataFrame:
    """The journal, the lake and data/ agree (after gc); returns the journal."""
    runs = store.runs()
    assert runs.filter(pl.col("status") == "running").height == 0, "a dead run still `running`"
    assert set(runs["status"]) <= {"succeeded", "crashed", "failed"}
    succeeded = runs.filter(pl.col("status") == "succeeded")
    lake_runs = set(store.table("runs")["run_id"])
    assert set(succeeded["run_id"]) == lake_runs
    assert lake_runs.isdisjoint(runs.filter(pl.col("status") == "crashed")["run_id"])
    commits = store.sql(
        "SELECT json_extract_string(commit_extra_info, '$.run_id') AS run_id, snapshot_id "
        "FROM lake.snapshots() WHERE commit_extra_info IS NOT NULL"
    )
    assert dict(commits.iter_rows()) == dict(
        succeeded.select("run_id", "output_snapshot").iter_rows()
    )
    store.gc(min_age_s=0)
    assert _on_disk(store.root) == _referenced(store)
    for snapshot in set(commits["snapshot_id"]) - checked:  # time travel to each new snapshot
        for table in store.tables(snapshot):
            store.sql(f"SELECT count(*) FROM {store.ref(table, snapshot)}")
        checked.add(snapshot)
    return runs


def _check_outcome(status: str, code: int | None) -> None:
    """A child that exited normally succeeded; a killed one crashed, or succeeded when the kill
    landed after its commit (in the journal update, or while closing the store)."""
    if code == 0:
        assert status == "succeeded"
    else:
        assert code == -9 and status in ("succeeded", "crashed")


def _assert_whole_runs(store: Store, table: str, rows_per_run: int, stage: str) -> None:
    """Every committed `stage` run wrote all of its rows; no other run wrote any."""
    runs = store.runs().filter((pl.col("stage") == stage) & (pl.col("status") == "succeeded"))
    if not store.has_table(table):
        assert runs.height == 0
        return
    per_run = store.table(table).group_by("run_id").len()
    assert set(per_run["run_id"]) == set(runs["run_id"])
    assert set(per_run["len"]) <= {rows_per_run}


def test_seeds_add_killed_at_many_points(
    fork: ForkServerContext, store: Store, tmp_path: Path
) -> None:
    root, checked = store.root, set()
    full = _source(tmp_path, "full")
    run_id, duration, code = _child(fork, crash_proc.seeds_add, root, full, kill_after_s=None)
    assert code == 0 and run_id
    statuses = []
    for k in range(1, KILLS + 1):
        source = _source(tmp_path, f"k{k}")
        run_id, _, code = _child(
            fork, crash_proc.seeds_add, root, source, kill_after_s=duration * k / (KILLS + 1)
        )
        runs = _assert_consistent(store, checked)
        statuses.append(runs.filter(pl.col("run_id") == run_id)["status"].item())
        _check_outcome(statuses[-1], code)
        _assert_whole_runs(store, "seeds", N_SEEDS, "seeds.add")
    assert "crashed" in statuses
    # a re-run of a killed source completes, from a freshly opened store
    killed = statuses.index("crashed") + 1
    store.close()
    with Store.open(root) as reopened:
        source = tmp_path / f"seeds-k{killed}.jsonl"
        _, _, code = _child(fork, crash_proc.seeds_add, root, source, kill_after_s=None)
        assert code == 0
        _assert_consistent(reopened, set())
        _assert_whole_runs(reopened, "seeds", N_SEEDS, "seeds.add")
        assert reopened.table("seeds").height == N_SEEDS * (statuses.count("succeeded") + 2)


def test_traces_killed_at_many_points(fork: ForkServerContext, tmp_path: Path) -> None:
    from curate.synthetic.generate import SynthConfig, run_synth

    root, checked = tmp_path / "store", set()
    with Store.open(root) as store:
        run_synth(store, SynthConfig(count=6, seed=1))
        per_run = store.table("seeds").height * 2
        with serve_in_thread(delay_s=0.05) as server:
            url = server.base_url
            run_id, duration, code = _child(
                fork, crash_proc.traces, root, url, 0, kill_after_s=None
            )
            assert code == 0
            statuses = []
            for k in range(1, KILLS + 1):
                run_id, _, code = _child(
                    fork, crash_proc.traces, root, url, k, kill_after_s=duration * k / (KILLS + 1)
                )
                runs = _assert_consistent(store, checked)
                statuses.append(runs.filter(pl.col("run_id") == run_id)["status"].item())
                _check_outcome(statuses[-1], code)
                _assert_whole_runs(store, "traces", per_run, "traces")
            assert "crashed" in statuses
            killed = statuses.index("crashed") + 1
            _, _, code = _child(fork, crash_proc.traces, root, url, killed, kill_after_s=None)
            assert code == 0
        _assert_consistent(store, checked)
        _assert_whole_runs(store, "traces", per_run, "traces")


def test_kill_points_are_settled_when_the_store_is_reopened(
    fork: ForkServerContext, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Exact kill points; each is judged by a fresh open (the journal row it persists)."""
    root = tmp_path / "store"
    Store.open(root).close()
    expected = {
        "locked": "crashed",
        "mid_insert": "crashed",
        "before_commit": "crashed",
        "after_commit": "succeeded",
    }
    for point, status in expected.items():
        source = _source(tmp_path, point, n=300)
        run_id, _, code = _child(fork, crash_proc.seeds_add, root, source, point, kill_after_s=60)
        assert code == -9 and run_id
        assert _journal_row(root, run_id)["status"] == "running"
        caplog.clear()
        with caplog.at_level("WARNING", logger="teachable.store"), Store.open(root) as store:
            row = _journal_row(root, run_id)  # settled (and persisted) by the open itself
            assert row["status"] == status, point
            if status == "crashed":
                assert f"process {row['pid']}" in str(row["error"])
                assert "1 run(s) in store" in caplog.text  # the open says so
                if point in ("mid_insert", "before_commit"):  # its files are in data/, unreferenced
                    assert _on_disk(root) > _referenced(store)
                    assert store.gc(min_age_s=0).removed
            else:
                assert row["output_snapshot"] == store.snapshot()
                assert json.loads(str(row["counts"]))["seeds_inserted"] == 300
            _assert_consistent(store, set())
    # the crashed sources go in on a re-run
    for point in ("mid_insert", "before_commit"):
        _, _, code = _child(
            fork, crash_proc.seeds_add, root, tmp_path / f"seeds-{point}.jsonl", kill_after_s=None
        )
        assert code == 0
    with Store.open(root) as store:
        _assert_consistent(store, set())
        assert store.table("seeds").height == 3 * 300


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def _pending(store: Store, **row: object) -> str:
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    store._journal.start(
        {
            "run_id": run_id,
            "stage": "test",
            "status": "running",
            "started_at": "2026-01-01T00:00:00",
            **row,
        }
    )
    return run_id


def _status(store: Store, run_id: str) -> str:
    return store.runs().filter(pl.col("run_id") == run_id)["status"].item()


def test_liveness_needs_the_same_process_not_just_the_same_pid(store: Store, dead_pid: int) -> None:
    host = socket.gethostname()
    me = _pending(store, host=host, pid=os.getpid(), process=identity(os.getpid()))
    reused = _pending(store, host=host, pid=os.getpid(), process="another-boot:12345")
    dead = _pending(store, host=host, pid=dead_pid, process="x:1")
    elsewhere = _pending(store, host=f"not-{host}", pid=dead_pid)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = _pending(store, host=host, pid=sleeper.pid, process=identity(sleeper.pid))
        assert _status(store, me) == "running"
        assert _status(store, reused) == "crashed"  # the pid now names a different process
        assert _status(store, dead) == "crashed"
        assert _status(store, elsewhere) == "running"  # another host: unknown, not guessed
        assert _status(store, live) == "running"
        sleeper.kill()  # not reaped yet: a zombie is dead too
        time.sleep(0.2)
        assert _status(store, live) == "crashed"
    finally:
        sleeper.kill()
        sleeper.wait()


OLD_JOURNAL = (
    "run_id TEXT PRIMARY KEY, stage TEXT, status TEXT, config TEXT, teachable_version TEXT, "
    "input_snapshot INTEGER, output_snapshot INTEGER, counts TEXT, error TEXT, "
    "started_at TEXT, ended_at TEXT, duration_s REAL, host TEXT, pid INTEGER"
)


def test_a_journal_from_before_crash_detection_is_upgraded(tmp_path: Path, dead_pid: int) -> None:
    root = tmp_path / "store"
    Store.open(root).close()
    (root / "journal.sqlite").unlink()
    with sqlite3.connect(root / "journal.sqlite") as con:
        con.execute(f"CREATE TABLE runs ({OLD_JOURNAL})")
        con.execute(
            "INSERT INTO runs (run_id, stage, status, started_at, host, pid) "
            "VALUES ('old-1', 'seeds.add', 'running', '2026-01-01', ?, ?)",
            [socket.gethostname(), dead_pid],
        )
    with Store.open(root) as store:
        assert _journal_row(root, "old-1")["status"] == "crashed"
        with store.run("after-upgrade"):
            pass
        assert _journal_row(root, store.runs()["run_id"][-1])["process"] == identity(os.getpid())


def test_gc_spares_files_of_a_live_writer_and_young_or_foreign_files(
    fork: ForkServerContext, store: Store, tmp_path: Path
) -> None:
    root = store.root
    proc = fork.Process(target=crash_proc.seeds_add, args=(root, _source(tmp_path, "held"), "hold"))
    proc.start()
    try:
        deadline = time.monotonic() + 120
        while not (root / "held").exists():
            assert proc.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        writing = _on_disk(root) - _referenced(store)
        assert writing, "the held run has written files not yet committed"
        with pytest.raises(StoreBusyError, match="gc needs the writer lock"):
            store.gc(min_age_s=0)  # the writer holds the lock: gc waits, then gives up
        assert _on_disk(root) >= writing
    finally:
        proc.kill()
        proc.join()
    # a fresh unreferenced file (as a writer that skips the lock would leave) and a foreign one
    young = root / "data" / "main" / "seeds" / f"ducklake-{uuid.uuid4()}.parquet"
    young.write_bytes(b"PAR1")
    (root / "data" / "notes.txt").write_text("mine")
    for path in writing:
        old = time.time() - 3600
        os.utime(root / "data" / path, (old, old))
    dry = store.gc(min_age_s=600, dry_run=True)
    assert {Path(p) for p in dry.removed} == {root / "data" / p for p in writing}
    assert _on_disk(root) >= writing
    report = store.gc(min_age_s=600)
    assert [Path(p) for p in report.kept_young] == [young]
    assert [Path(p).name for p in report.kept_foreign] == ["notes.txt"]
    assert not (_on_disk(root) & writing)
    assert young.exists()
    assert store.gc(min_age_s=0).removed == [str(young)]
    assert _on_disk(root) == _referenced(store) | {"notes.txt"}


def test_cli_shows_crashed_runs_and_collects_their_files(
    fork: ForkServerContext, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    Store.open(root).close()
    source = _source(tmp_path, "cli", n=200)
    _child(fork, crash_proc.seeds_add, root, source, "before_commit", kill_after_s=60)
    runner = CliRunner()
    env = {"COLUMNS": "250"}
    log = runner.invoke(app, ["log", "--runs", "--store", str(root)], env=env)
    assert log.exit_code == 0, log.output
    assert "crashed" in log.output and "running" not in log.output
    with Store.open(root) as store:
        left = len(_on_disk(root) - _referenced(store))
    assert left
    kept = runner.invoke(app, ["store", "gc", "--store", str(root)], env=env)
    assert kept.exit_code == 0, kept.output
    assert f"kept {left} unreferenced" in kept.output  # younger than the default 300 s
    gone = runner.invoke(app, ["store", "gc", "--min-age", "0", "--store", str(root)], env=env)
    assert gone.exit_code == 0 and f"removed {left} unreferenced" in gone.output, gone.output
    with Store.open(root) as store:
        assert _on_disk(root) == _referenced(store)


def test_gc_after_the_store_folder_moved_keeps_every_live_file(tmp_path: Path) -> None:
    from curate.seeds.ingest import IngestConfig, run_ingest

    first = tmp_path / "first"
    with Store.open(first) as store:
        run_ingest(store, IngestConfig(source=str(_source(tmp_path, "moved", n=50)), name="m"))
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    first.rename(moved)
    with Store.open(moved) as store:  # the catalog still names the old data path
        before = _on_disk(moved)
        report = store.gc(min_age_s=0)
        assert report.removed == [] and _on_disk(moved) == before
        _assert_consistent(store, set())
        assert store.table("seeds").height == 50
