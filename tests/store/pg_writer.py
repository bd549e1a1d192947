"""A writer process for the PostgreSQL concurrency tests (tests/store/test_postgres.py).

    python pg_writer.py DSN WRITER RUNS TABLE GO_FILE

Opens the store, touches GO_FILE.ready-WRITER and waits until GO_FILE exists (so every writer
starts at once, after all have imported and opened the store), then makes RUNS
small runs, each inserting ROWS rows with keys `<writer>-<run>-<row>` into TABLE with
`unique_on` (as the stages do). Prints one JSON line: run ids, commit retries, seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import polars as pl

from store import Store, TableSpec

ROWS = 3


def spec(table: str) -> TableSpec:
    columns = {"item_id": "VARCHAR", "writer": "INTEGER", "run_id": "VARCHAR"}
    return TableSpec(table, columns, key=("item_id",))


def main(dsn: str, writer: int, runs: int, table: str, go: Path) -> None:
    target = spec(table)
    retries, run_ids = 0, []
    with Store.open(dsn, create=False) as store:
        go.with_name(f"{go.name}.ready-{writer}").touch()
        while not go.exists():
            time.sleep(0.01)
        started = time.perf_counter()
        for i in range(runs):
            ids = [f"{writer}-{i}-{j}" for j in range(ROWS)]
            with store.run("writer", {"writer": writer, "i": i}) as run:
                run.insert(target, pl.DataFrame({"item_id": ids, "writer": [writer] * ROWS}))
            retries += run.counts.get("commit_retries", 0)
            run_ids.append(run.id)
        seconds = time.perf_counter() - started
    print(json.dumps({"run_ids": run_ids, "retries": retries, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], Path(sys.argv[5]))
