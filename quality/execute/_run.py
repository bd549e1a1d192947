"""One sandboxed run of one program against its tests: start the harness, feed it the job, read
its per-test records, kill and reap everything, turn the records into a Judgement."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

import xxhash

from quality.execute.isolation import TMPFS_BYTES, command, payload
from quality.execute.judge import verdict_of
from quality.execute.spec import Judgement, Limits, TestSpec, Verdict

_UIDS = random.SystemRandom()
_UID_RANGE = (1_000_000, 2_000_000_000)  # far from real accounts; one per program
_STARTUP_S = 5.0  # harness start-up, allowed on top of the program's own limit
_DETAIL_CHARS = 400
_OUTPUT_CHARS = 256  # an observed output kept whole up to this, else prefix + digest


def _tests(spec: TestSpec) -> list[Any]:
    if spec.judge == "stdio":
        return [c.input for c in spec.cases]
    if spec.judge == "call":
        return [c.args for c in spec.cases]
    return [None]


def _job(program: str, spec: TestSpec, limits: Limits, workdir: str | None) -> bytes:
    job = {
        "uid": _UIDS.randrange(*_UID_RANGE),
        "tmpfs_bytes": TMPFS_BYTES,
        "workdir": workdir,
        "judge": spec.judge,
        "program": program,
        "entry_point": spec.entry_point,
        "code": spec.code,
        "tests": _tests(spec),
        "limits": {
            "test_wall_s": limits.test_wall_s,
            "cpu_s": limits.test_cpu_s,
            "memory_bytes": limits.memory_bytes,
            "processes": limits.processes,
            "open_files": limits.open_files,
            "file_bytes": limits.file_bytes,
            "stdout_bytes": limits.stdout_bytes,
        },
    }
    return payload(job)


def run_once(program: str, spec: TestSpec, limits: Limits, isolation: str) -> Judgement:
    start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="teachable-exec-") if isolation == "none" else None
    try:
        out, err, timed_out = _communicate(
            command(isolation),
            _job(program, spec, limits, workdir),
            limits.program_wall(spec.total) + _STARTUP_S,
            cwd=workdir or "/",
        )
    except OSError as exc:
        return _sandbox_error(spec, isolation, start, f"cannot start the sandbox: {exc}")
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    records = _parse(out)
    return _judgement(spec, isolation, start, records, timed_out, err)


def _communicate(
    argv: list[str], job: bytes, timeout: float, cwd: str
) -> tuple[bytes, bytes, bool]:
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={},
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(job, timeout=timeout)
        return out, err, False
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        out, err = proc.communicate()
        return out, err, True
    finally:
        if proc.poll() is None:  # an exception in between (KeyboardInterrupt): leave nothing
            _kill_group(proc.pid)
            proc.communicate()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _parse(out: bytes) -> list[dict[str, Any]]:
    records = []
    for line in out.splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _sandbox_error(spec: TestSpec, isolation: str, start: float, why: str) -> Judgement:
    seconds = time.monotonic() - start
    return Judgement.every_test(
        Verdict.sandbox_error, spec.total, isolation, seconds, why[:_DETAIL_CHARS]
    )


def _judgement(
    spec: TestSpec,
    isolation: str,
    start: float,
    records: list[dict[str, Any]],
    timed_out: bool,
    err: bytes,
) -> Judgement:
    if not any(r.get("ready") for r in records):
        why = next((r["sandbox_error"] for r in records if "sandbox_error" in r), None)
        if why is None:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            why = lines[-1] if lines else "the harness did not start"
        return _sandbox_error(spec, isolation, start, why)
    by_test = {r["i"]: r for r in records if isinstance(r.get("i"), int)}
    done = any(r.get("done") for r in records)
    syntax = any(r.get("status") == "syntax" for r in by_test.values())
    verdicts: list[Verdict] = []
    details: list[str] = []
    for i in range(spec.total):
        record = by_test.get(i)
        if record is not None:
            case = spec.cases[i] if spec.cases else None
            verdict, why = verdict_of(record, case, spec)
        elif syntax:
            verdict, why = Verdict.syntax_error, ""
        elif timed_out:
            verdict, why = Verdict.time_limit, "program time limit"
        else:
            verdict, why = Verdict.sandbox_error, "the harness stopped" if not done else "no record"
        verdicts.append(verdict)
        details.append(f"test {i}: {why}" if why else "")
    failed = [i for i, v in enumerate(verdicts) if v != Verdict.accepted]
    if not failed:
        overall = Verdict.accepted
    elif Verdict.sandbox_error in verdicts:
        overall = Verdict.sandbox_error
    else:
        overall = verdicts[failed[0]]
    detail = ""
    if failed:
        first = failed[0] if overall != Verdict.sandbox_error else verdicts.index(overall)
        detail = details[first]
        if overall == Verdict.sandbox_error and err:
            detail += " | " + err.decode("utf-8", "replace").strip()[-200:]
    return Judgement(
        verdict=overall,
        passed=len(verdicts) - len(failed),
        total=spec.total,
        tests=tuple(verdicts),
        isolation=isolation,
        seconds=time.monotonic() - start,
        detail=detail[:_DETAIL_CHARS],
        test_seconds=tuple(
            float(by_test[i].get("wall", 0.0)) for i in range(spec.total) if i in by_test
        ),
        outputs=tuple(_observed(by_test.get(i), spec) for i in range(spec.total)),
    )


def _observed(record: dict[str, Any] | None, spec: TestSpec) -> str | None:
    """What one test's program produced, with trailing spaces off each line (as the stdout
    judge ignores them); an output over _OUTPUT_CHARS is kept as a prefix and its digest."""
    if record is None or record.get("status") != "ok" or spec.judge == "assert":
        return None
    if spec.judge == "stdio":
        out = str(record.get("out", ""))
        text = "\n".join(line.rstrip() for line in out.rstrip().splitlines())
    else:
        text = str(record.get("value", ""))
    if len(text) <= _OUTPUT_CHARS:
        return text
    digest = xxhash.xxh3_64_hexdigest(text.encode("utf-8", "surrogatepass"))
    return f"{text[:_OUTPUT_CHARS]}...xxh3:{digest}"
