"""The in-sandbox harness: stdlib only, run as `python3 -I -S -c <this source> <mode>`.

It reads one job (JSON) from stdin, makes its sandbox (mode "namespaces": it starts as root in
fresh mount/PID/net namespaces, builds a root of read-only /usr plus a tmpfs, chroots there and
drops to the job's unprivileged uid with no new privileges), then runs each test in a forked
child with its own stdin, pipes and rlimits, and writes one JSON line per test to stdout. As PID 1
of its namespace it cannot be killed from inside and reaps everything: after each test it kills
every other process in the namespace (kill(-1)), so nothing a test starts outlives it.

Expected outputs never enter the sandbox: the parent compares. This file imports nothing from
the package, because it runs under the system interpreter (/usr/bin/python3), not the venv's.
"""

import builtins
import contextlib
import io
import json
import os
import resource
import select
import signal
import sys
import time
import traceback

MODE = sys.argv[1] if len(sys.argv) > 1 else "none"
_ERR_CAP = 4096
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18


def emit(record):
    data = (json.dumps(record) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _mount(libc, src, target, fstype, flags, data=None):
    def enc(s):
        return None if s is None else s.encode()

    if libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, "mount " + target + ": " + os.strerror(err))


def enter_namespaces(uid, tmpfs_bytes):
    """As root in fresh namespaces: build the new root in a tmpfs over /tmp, chroot, drop root."""
    libc = _libc()
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    new = "/tmp"
    opts = f"size={tmpfs_bytes},nr_inodes=8192,mode=755"
    _mount(libc, "tmpfs", new, "tmpfs", _MS_NOSUID | _MS_NODEV, opts)
    ro = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
    for name in ("usr", "bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), new + host)
        elif os.path.isdir(host):
            os.mkdir(new + host)
            _mount(libc, host, new + host, None, _MS_BIND | _MS_REC)
            _mount(libc, None, new + host, None, ro)
    os.mkdir(new + "/proc")
    _mount(libc, "proc", new + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    os.mkdir(new + "/dev")
    for dev in ("null", "zero", "urandom", "random"):
        open(new + "/dev/" + dev, "w").close()
        _mount(libc, "/dev/" + dev, new + "/dev/" + dev, None, _MS_BIND)
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", new + "/dev/" + name)
    os.symlink("/proc/self/fd", new + "/dev/fd")
    os.mkdir(new + "/tmp")
    os.chmod(new + "/tmp", 0o1777)
    os.mkdir(new + "/work", 0o700)
    os.chown(new + "/work", uid, uid)
    os.chdir(new)
    os.chroot(".")
    os.chdir("/work")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError("prctl(PR_SET_NO_NEW_PRIVS) failed")
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: tests cannot ptrace or read this process


def _limit(res, soft, hard=None):
    resource.setrlimit(res, (soft, soft if hard is None else hard))


def child(job, test, in_fd, out_w, err_w, st_w):
    """Runs in the forked test process; never returns."""
    os.setsid()
    os.dup2(in_fd, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(st_w, 3)
    os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    lim = job["limits"]
    cpu = max(1, int(-(-lim["cpu_s"] // 1)))
    _limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    _limit(resource.RLIMIT_AS, lim["memory_bytes"])
    _limit(resource.RLIMIT_FSIZE, lim["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, lim["open_files"])
    _limit(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="replace"
    )
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16), encoding="utf-8"
    )
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8", line_buffering=True
    )
    sys.argv = ["solution.py"]
    me = os.getpid()
    report = run_program(job, test)
    if os.getpid() != me:  # a fork of the program finished it too: only the first one reports
        os._exit(0)
    try:
        sys.stdout.flush()
    except BaseException as exc:
        if report.get("status") == "ok":
            report = {"status": "exception", "exc": type(exc).__name__, "detail": repr(exc)}
    data = json.dumps(report).encode()
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(3, view) :]
    except OSError:
        pass
    os._exit(0)


def _failure(exc):
    lines = traceback.format_exception_only(type(exc), exc)
    return {"status": "exception", "exc": type(exc).__name__, "detail": "".join(lines)[-2000:]}


def run_program(job, test):
    judge = job["judge"]
    ns = {"__name__": "__main__" if judge == "stdio" else "solution", "__builtins__": builtins}
    try:
        code = compile(job["program"], "solution.py", "exec")
        tests = compile(job["code"], "tests.py", "exec") if judge == "assert" else None
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as exc:
        return {"status": "syntax", "exc": type(exc).__name__, "detail": str(exc)[-2000:]}
    try:
        exec(code, ns)
    except SystemExit as exc:
        if judge == "stdio" and exc.code in (None, 0):
            return {"status": "ok"}
        return {"status": "exit", "detail": f"SystemExit({exc.code!r}) while loading"}
    except BaseException as exc:
        return _failure(exc)
    try:
        if judge == "call":
            value = _entry(ns, job["entry_point"])(*test)
            return {"status": "ok", "value": json.dumps(value, default=repr)}
        if judge == "assert":
            exec(tests, ns)
            if job.get("entry_point"):
                ns["check"](_entry(ns, job["entry_point"]))
    except SystemExit as exc:
        return {"status": "exit", "detail": f"SystemExit({exc.code!r}) during the tests"}
    except BaseException as exc:
        return _failure(exc)
    return {"status": "ok"}


def _entry(ns, name):
    if name in ns:
        return ns[name]
    if "Solution" in ns:  # LeetCode style: class Solution with the method
        return getattr(ns["Solution"](), name)
    raise NameError(f"name {name!r} is not defined")


def kill_rest(pid):
    """Kill everything a test left. As PID 1 of a namespace: kill(-1) reaches all but us."""
    if MODE != "none":
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    me = str(os.getpid())  # unsandboxed: we are a subreaper, orphans come back to us
    for _ in range(1000):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                found = True
                with contextlib.suppress(OSError):
                    os.kill(int(entry), signal.SIGKILL)
        _reap(block=False)
        if not found:
            return
        time.sleep(0.001)


def _reap(block):
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_test(job, i, test):
    lim = job["limits"]
    in_fd = os.memfd_create("stdin")
    data = test.encode("utf-8", "surrogateescape") if job["judge"] == "stdio" else b""
    view = memoryview(data)
    while view:
        view = view[os.write(in_fd, view) :]
    os.lseek(in_fd, 0, os.SEEK_SET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    st_r, st_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            child(job, test, in_fd, out_w, err_w, st_w)
        finally:
            os._exit(127)
    for fd in (in_fd, out_w, err_w, st_w):
        os.close(fd)
    caps = {out_r: lim["stdout_bytes"], err_r: _ERR_CAP, st_r: 2 * lim["stdout_bytes"] + 65536}
    bufs = {out_r: bytearray(), err_r: bytearray(), st_r: bytearray()}
    over = {out_r: False, err_r: False, st_r: False}
    live = [out_r, err_r, st_r]
    pidfd = os.pidfd_open(pid)
    deadline = start + lim["test_wall_s"]
    timed_out = False

    def take(fd):
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            live.remove(fd)
            os.close(fd)
            return
        room = caps[fd] - len(bufs[fd])
        if len(chunk) > room:
            over[fd] = True
            chunk = chunk[: max(room, 0)]
            if fd == out_r:  # stdout cut: stop reading, the writer gets EPIPE
                live.remove(fd)
                os.close(fd)
        bufs[fd] += chunk

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready = select.select(live + [pidfd], [], [], left)[0]
        for fd in ready:
            if fd != pidfd:
                take(fd)
        if pidfd in ready:
            break
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    os.close(pidfd)
    kill_rest(pid)
    _reap(block=True)  # everything is dead: the pipes reach EOF
    while live:
        take(live[0])
    wall = time.monotonic() - start
    record = {"i": i, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime}
    record["stderr"] = bytes(bufs[err_r]).decode("utf-8", "replace")
    if timed_out:
        record["status"] = "timeout"
        return record
    report = None
    if bufs[st_r] and not over[st_r]:
        try:
            report = json.loads(bytes(bufs[st_r]))
        except ValueError:
            report = None
    if os.WIFSIGNALED(status):
        record.update(status="signal", signal=os.WTERMSIG(status))
    elif report is None:
        record.update(status="exit", code=os.WEXITSTATUS(status))
    else:
        record.update(report)
    if over[st_r]:
        record["truncated"] = True
    if job["judge"] == "stdio":
        record["out"] = bytes(bufs[out_r]).decode("utf-8", "replace")
        record["truncated"] = record.get("truncated", False) or over[out_r]
    return record


def main():
    job = json.loads(sys.stdin.buffer.read())
    try:
        if MODE == "namespaces":
            enter_namespaces(job["uid"], job["tmpfs_bytes"])
        elif MODE == "none":
            os.chdir(job["workdir"])
            _libc().prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        _limit(resource.RLIMIT_NPROC, job["limits"]["processes"])
        _limit(resource.RLIMIT_CORE, 0)
        os.umask(0o077)
    except BaseException as exc:
        emit({"sandbox_error": f"{type(exc).__name__}: {exc}"})
        return
    emit({"ready": True, "pid": os.getpid()})
    for i, test in enumerate(job["tests"]):
        record = run_test(job, i, test)
        emit(record)
        if record["status"] == "syntax":
            break
    emit({"done": True})


main()
