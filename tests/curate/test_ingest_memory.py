"""The probe's large ingest (issue 23, class 8): `seeds add` of a 200 MB JSONL file peaked at
1.9 GB when the file was read whole. Streamed in batches, the peak is about that of a 50 MB file:
each size is ingested in a child process under an address-space limit (a regression fails the
test, not the machine) that reports its own peak RSS (`ru_maxrss`). The files are generated in
tmp at test time. Soak: about a minute on 2 cores."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from curate.seeds.ingest import IngestConfig, run_ingest
    from store import Store

    with Store.open(sys.argv[2]) as store:
        counts = run_ingest(store, IngestConfig(source=sys.argv[1], name="big"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak": peak, "counts": counts}))
    """
)


def _source(path: Path, megabytes: int) -> int:
    """Distinct math-like records, ~400 bytes each, up to `megabytes`; returns the count."""
    rng = random.Random(0)
    words = ["the", "of", "sum", "prime", "circle", "radius", "area", "find", "value"]
    size, n = 0, 0
    with path.open("w") as out:
        while size < megabytes << 20:
            n += 1
            text = f"Problem {n}: " + " ".join(rng.choice(words) for _ in range(50))
            line = json.dumps({"problem": text + f" What is {n} + 7?", "answer": str(n + 7)})
            out.write(line + "\n")
            size += len(line) + 1
    return n


def _ingest(source: Path, lake: Path) -> dict:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # a safety net, not the test

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source), str(lake)],
        capture_output=True, text=True, timeout=600, preexec_fn=limit, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.soak
def test_a_200mb_ingest_peaks_about_as_high_as_a_50mb_one(tmp_path: Path) -> None:
    figures = {}
    for megabytes in (50, 200):
        source = tmp_path / f"s{megabytes}.jsonl"
        rows = _source(source, megabytes)
        figures[megabytes] = _ingest(source, tmp_path / f"lake{megabytes}")
        assert figures[megabytes]["counts"]["seeds_inserted"] == rows
        source.unlink()
    small, large = figures[50]["peak"], figures[200]["peak"]
    print(f"peak RSS: 50 MB -> {small >> 20} MB, 200 MB -> {large >> 20} MB")
    assert large < 1 << 30  # whole-file reading peaked at 1.9 GB
    assert large - small < 200 << 20  # 150 MB more source: well under 150 MB more memory
