"""What the lake and the host know about runs the journal still lists as `running`."""

from __future__ import annotations

from typing import Any

import duckdb

from store._connection import LAKE
from store.schema import RUNS


def committed_runs(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The journal fields the lake recorded for those of `run_ids` that committed."""
    marks = ", ".join("?" * len(run_ids))
    rows = con.execute(
        "SELECT r.run_id, s.snapshot_id, r.counts, r.ended_at, r.duration_s "
        f"FROM {LAKE}.{RUNS.name} r LEFT JOIN {LAKE}.snapshots() s "
        "ON json_extract_string(s.commit_extra_info, '$.run_id') = r.run_id "
        f"WHERE r.run_id IN ({marks})",
        run_ids,
    ).fetchall()
    names = ("output_snapshot", "counts", "ended_at", "duration_s")
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}


def crash_note(row: dict[str, Any]) -> str:
    return (
        f"crashed: process {row['pid']} on {row['host']} ended before the run finished "
        "(killed, out of memory, power loss); nothing of this run was committed. Re-run the "
        "stage; `teachable store gc` removes the files it left in data/."
    )
