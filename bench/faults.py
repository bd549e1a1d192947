"""Soak: `teachable traces` against a fault-injecting OpenAI-compatible server, the client
SIGKILLed at random points, then re-run until done. Nothing may be lost or stored twice.

Usage:
    .venv/bin/python bench/faults.py                     # 500 seeds x 4 samples = 2,000 requests
    .venv/bin/python bench/faults.py --seeds 100 --kills 3 --chaos 0.5

The server (tests/loopback.py, a thread of this process) draws a fault for each attempt
of every request: 429 with Retry-After, 500, a reset connection, a stall past the deadline, an
endless drip, malformed JSON, empty choices. The client is the real CLI in a subprocess, killed
(SIGKILL) once the server has seen a random number of its requests, `--kills` times; then it is
re-run until it exits 0. Printed: requests the server received, retries, kills, duplicate rows
in `traces` (must be 0), samples lost after the final re-run (must be 0), samples the server
answered twice (paid twice: answered while the client was being killed, before it read the
answer or before the request cache's next commit, every 50 ms; at most about `concurrency` per
kill), journal statuses and wall time.

Measured 2026-11-30 on the 2-core dev box (load average 30-60 from other jobs), defaults
(seed 0, 35% of attempts faulted): 2,000 samples, 3,275 requests sent, 1,275 retries (faults
and re-sends after kills), 6 SIGKILLs, 1 final run to exit 0, 0 duplicate trace rows, 0 samples
lost, 161 samples paid twice (answered in the kill windows), journal: 6 `running` (the killed
runs) + 1 `succeeded`, 114.5 s wall. Duplicates 0 and lost 0 are asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

from curate.synthetic.generate import SynthConfig, run_synth
from store import Store
from store.tables import TRACES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from loopback import LoopbackServer, serve_in_thread  # noqa: E402  (the test server)

# probability of each fault per attempt (the rest answer normally)
FAULTS = {"429": 0.3, "500": 0.2, "reset": 0.15, "stall": 0.05, "dripforever": 0.05,
          "badjson": 0.15, "empty": 0.1}  # fmt: skip


def teacher_yaml(server: LoopbackServer, folder: Path) -> Path:
    path = folder / "teacher.yaml"
    config = {
        "backend": "openai", "model": "loopback", "base_url": server.base_url,
        "timeout_s": 1.5, "max_retries": 10, "backoff_base_s": 0.05, "backoff_max_s": 1.0,
        "concurrency": 64,
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


def run_client(cmd: list[str], server: LoopbackServer, kill_after: int | None) -> int | None:
    """Run the CLI; with `kill_after`, SIGKILL it once the server has received that many more
    requests. Returns the exit code, or None when it was killed."""
    start = sum(server.attempts.values())
    env = {**os.environ, "TEACHABLE_PROGRESS": "0"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None:
        if kill_after is not None and sum(server.attempts.values()) - start >= kill_after:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return None
        time.sleep(0.01)
    assert proc.stderr is not None
    tail = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:]
    if proc.returncode:
        print(f"  exit {proc.returncode}: {tail[0][:200] if tail else ''}")
    return proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--chaos", type=float, default=0.35, help="fault probability per attempt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    chaos = {kind: p * args.chaos for kind, p in FAULTS.items()}
    expected = args.seeds * args.samples

    with tempfile.TemporaryDirectory() as tmp, serve_in_thread(
        chaos=chaos, chaos_seed=args.seed, retry_after="0.2", drip_s=0.2
    ) as server:  # fmt: skip
        root = Path(tmp) / "store"
        with Store.open(root) as store:
            run_synth(store, SynthConfig(count=args.seeds, seed=args.seed))
        cmd = [sys.executable, "-m", "curate.cli", "traces", "--teacher",
               str(teacher_yaml(server, Path(tmp))), "--samples", str(args.samples),
               "-s", str(root)]  # fmt: skip
        started = time.perf_counter()
        killed = 0
        for _ in range(args.kills):
            target = rng.randint(expected // 20, expected // 3)
            killed += run_client(cmd, server, kill_after=target) is None
        finals = 0
        while finals < 5:
            finals += 1
            if run_client(cmd, server, kill_after=None) == 0:
                break
        wall = time.perf_counter() - started
        with Store.open(root, create=False) as store:
            traces = store.table(TRACES) if store.has_table(TRACES) else pl.DataFrame()
            statuses = store.runs().filter(pl.col("stage") == "traces")["status"]
            journal = dict(statuses.value_counts().iter_rows())

    rows = traces.height
    distinct = traces["trace_id"].n_unique() if rows else 0
    sent = sum(server.attempts.values())
    figures = {
        "samples expected": expected,
        "requests sent (received by the server)": sent,
        "retries (requests beyond the first per sample)": sent - len(server.attempts),
        "faults injected": dict(server.faults),
        "client SIGKILLs": killed,
        "final runs until exit 0": finals,
        "duplicate trace rows (must be 0)": rows - distinct,
        "samples lost after the final re-run (must be 0)": expected - distinct,
        "samples answered twice (in flight or unflushed at a kill: paid twice)": sum(
            1 for n in server.served.values() if n > 1
        ),
        "journal (traces runs by status)": journal,
        "wall time (s)": round(wall, 1),
    }
    for name, value in figures.items():
        print(f"{name:>68}: {value}")
    assert rows == distinct, "duplicate traces"
    assert distinct == expected, "lost samples"


if __name__ == "__main__":
    main()
