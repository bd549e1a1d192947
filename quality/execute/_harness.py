"""The in-sandbox harness: stdlib only, started by isolation.BOOTSTRAP (`python3 -I -S -c`),
which reads (this harness, compiled where the versions allow, and one job) from stdin.

It takes the job, makes its sandbox (mode "namespaces": it starts as root in
fresh mount/PID/net namespaces, builds a root of read-only /usr plus a tmpfs, chroots there and
drops to the job's unprivileged uid with no new privileges), then runs each test in a forked
child with its own stdin, pipes and rlimits, and writes one JSON line per test to stdout. As PID 1
of its namespace it cannot be killed from inside and reaps everything: after each test it kills
every other process in the namespace (kill(-1)), so nothing a test starts outlives it.

Expected outputs never enter the sandbox: the parent compares. This file imports nothing from
the package, because it runs under the system interpreter (/usr/bin/python3), not the venv's.
Start-up time is most of a short program's cost, so it imports only C modules (json pulls in re
and enum: ~10 ms per program); records go out as JSON written by hand, the job comes in as
marshal (from the trusted parent), and a test's report comes back as length-prefixed fields
(from the untrusted program: nothing that can crash the parser).
"""

import _signal  # not `signal`: that one imports enum, which costs more than the rest together
import builtins
import io
import os
import resource
import select
import sys
import time

TYPE_CHECKING = False  # true for a type checker only: nothing below is imported at run time
if TYPE_CHECKING:
    import json  # imported by main() for "call" jobs only

    JOB: dict  # defined by isolation.BOOTSTRAP

MODE = sys.argv[1] if len(sys.argv) > 1 else "none"
_ERR_CAP = 4096
_STARVED_FACTOR = 4  # a starved test may run this many times its wall limit, no longer
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18


_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 10: "\\n", 13: "\\r", 9: "\\t"})


def to_json(value):
    """JSON of None, bools, numbers, strings, lists and dicts (all the harness emits)."""
    if value is None or value is True or value is False:
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value - value == 0 else "null"  # nan and inf are not JSON
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, dict):
        return "{" + ",".join(to_json(str(k)) + ":" + to_json(v) for k, v in value.items()) + "}"
    return "[" + ",".join(to_json(v) for v in value) + "]"


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def emit(record):
    write_all(1, (to_json(record) + "\n").encode("utf-8", "replace"))


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
    for shared in ("/tmp", "/dev/shm"):  # in the same sized tmpfs as everything else
        os.mkdir(new + shared)
        os.chmod(new + shared, 0o1777)
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
    lim = job["limits"]
    status_fd = max(3, lim["open_files"] - 1)  # high, out of the way of the program's files
    os.dup2(st_w, status_fd)
    os.closerange(3, status_fd)
    os.closerange(status_fd + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    cpu = max(1, int(-(-lim["cpu_s"] // 1)))
    _limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    _limit(resource.RLIMIT_AS, lim["memory_bytes"])
    _limit(resource.RLIMIT_FSIZE, lim["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, lim["open_files"])
    _limit(resource.RLIMIT_CORE, 0)
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
    sys.stdin = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="replace"
    )
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16), encoding="utf-8"
    )
    sys.stderr = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8", line_buffering=True
    )
    # the originals too, for programs that use them (typeshed declares them Final)
    vars(sys).update(__stdin__=sys.stdin, __stdout__=sys.stdout, __stderr__=sys.stderr)
    sys.argv = ["solution.py"]
    me = os.getpid()
    report = run_program(job, test)
    if os.getpid() != me:  # a fork of the program finished it too: only the first one reports
        os._exit(0)
    try:
        sys.stdout.flush()
    except BaseException as exc:
        if report.get("status") == "ok":
            report = _failure(exc)
    fields = [report.get(k, "") for k in REPORT_FIELDS]
    data = b"".join(b"%d:%s" % (len(f), f) for f in (x.encode("utf-8", "replace") for x in fields))
    try:  # noqa: SIM105 (contextlib costs an import of functools and collections)
        write_all(status_fd, data)
    except OSError:
        pass
    os._exit(0)


REPORT_FIELDS = ("status", "exc", "detail", "value")


def parse_report(data):
    """The fields a test process wrote (length-prefixed), or None when they are not that."""
    report, at = {}, 0
    try:
        for key in REPORT_FIELDS:
            colon = data.index(b":", at, at + 12)
            size = int(data[at:colon])
            report[key] = bytes(data[colon + 1 : colon + 1 + size]).decode("utf-8", "replace")
            at = colon + 1 + size
    except ValueError:
        return None
    if at != len(data) or report["status"] not in ("ok", "exception", "exit", "syntax"):
        return None
    return {k: v for k, v in report.items() if v}


def _text(fn, *args):
    """str()/repr() of something the program made: may raise, may be huge."""
    try:
        return fn(*args)[-2000:]
    except BaseException:
        return "<unprintable>"


def _exit_text(exc, when):
    return f"SystemExit({exc.code!r}) {when}"


def _failure(exc):
    name = type(exc).__name__
    message = _text(str, exc)
    return {"status": "exception", "exc": name, "detail": f"{name}: {message}" if message else name}


def run_program(job, test):
    judge = job["judge"]
    name = "__main__" if judge == "stdio" else "solution"
    ns: dict = {"__name__": name, "__builtins__": builtins}
    try:
        code = compile(job["program"], "solution.py", "exec")
        tests = compile(job["code"], "tests.py", "exec") if judge == "assert" else None
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as exc:
        return {"status": "syntax", "exc": type(exc).__name__, "detail": _text(str, exc)}
    try:
        exec(code, ns)
    except SystemExit as exc:
        if judge == "stdio" and (exc.code is None or (type(exc.code) is int and exc.code == 0)):
            return {"status": "ok"}
        return {"status": "exit", "detail": _text(_exit_text, exc, "at load")}
    except BaseException as exc:
        return _failure(exc)
    try:
        if judge == "call":
            value = _entry(ns, job["entry_point"])(*test)
            return {"status": "ok", "value": json.dumps(value, default=repr)}
        if tests is not None:  # judge "assert"
            exec(tests, ns)
            if job.get("entry_point"):
                ns["check"](_entry(ns, job["entry_point"]))
    except SystemExit as exc:
        return {"status": "exit", "detail": _text(_exit_text, exc, "in tests")}
    except BaseException as exc:
        return _failure(exc)
    return {"status": "ok"}


def _entry(ns, name):
    if name in ns:
        return ns[name]
    if "Solution" in ns:  # LeetCode style: class Solution with the method
        return getattr(ns["Solution"](), name)
    raise NameError(f"name {name!r} is not defined")


def _kill(how, target):
    try:  # noqa: SIM105 (as above)
        how(target, _signal.SIGKILL)
    except OSError:  # gone already, or not ours
        pass


def kill_rest(pid):
    """Kill everything a test left. As PID 1 of a namespace: kill(-1) reaches all but us."""
    if MODE != "none":
        _kill(os.kill, -1)
        return
    _kill(os.killpg, pid)
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
                _kill(os.kill, int(entry))
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


def _run_delay(pid):
    """Seconds the process has waited on a run queue (/proc/<pid>/schedstat)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class Pipes:
    """The test's stdout, stderr and report pipes, each read up to its cap."""

    def __init__(self, out_r, err_r, st_r, stdout_cap):
        self.out, self.err, self.status = out_r, err_r, st_r
        self.caps = {out_r: stdout_cap, err_r: _ERR_CAP, st_r: 2 * stdout_cap + 65536}
        self.bufs = {fd: bytearray() for fd in self.caps}
        self.over = {fd: False for fd in self.caps}
        self.live = [out_r, err_r, st_r]

    def take(self, fd):
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self.close(fd)
            return
        room = self.caps[fd] - len(self.bufs[fd])
        if len(chunk) > room:
            self.over[fd] = True
            chunk = chunk[: max(room, 0)]
            if fd == self.out:  # stdout cut: stop reading, the writer gets EPIPE
                self.close(fd)
        self.bufs[fd] += chunk

    def close(self, fd):
        self.live.remove(fd)
        os.close(fd)

    def text(self, fd):
        return bytes(self.bufs[fd]).decode("utf-8", "replace")


def wait_test(pid, pipes, start, wall_s):
    """Read the pipes until the test process exits (False) or its time is up (True)."""
    pidfd = os.pidfd_open(pid)
    deadline, hard = start + wall_s, start + _STARVED_FACTOR * wall_s
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                # Time spent waiting for a CPU is the machine's, not the program's: extend by
                # it (up to a hard cap), so a loaded machine does not turn right programs into
                # TLEs. A sleeping program waits on no run queue and is cut at the limit.
                extended = min(start + wall_s + _run_delay(pid), hard)
                if extended <= now + 0.005:
                    return True
                deadline = extended
                continue
            ready = select.select(pipes.live + [pidfd], [], [], deadline - now)[0]
            for fd in ready:
                if fd != pidfd:
                    pipes.take(fd)
            if pidfd in ready:
                return False
    finally:
        os.close(pidfd)


def start_test(job, test):
    """Fork the test process with its stdin (a memfd) and pipes; returns (pid, Pipes)."""
    in_fd = os.memfd_create("stdin")
    write_all(in_fd, test.encode("utf-8", "surrogateescape") if job["judge"] == "stdio" else b"")
    os.lseek(in_fd, 0, os.SEEK_SET)
    (out_r, out_w), (err_r, err_w), (st_r, st_w) = os.pipe(), os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            child(job, test, in_fd, out_w, err_w, st_w)
        finally:
            os._exit(127)
    for fd in (in_fd, out_w, err_w, st_w):
        os.close(fd)
    return pid, Pipes(out_r, err_r, st_r, job["limits"]["stdout_bytes"])


def run_test(job, i, test):
    start = time.monotonic()
    pid, pipes = start_test(job, test)
    timed_out = wait_test(pid, pipes, start, job["limits"]["test_wall_s"])
    if timed_out:
        _kill(os.kill, pid)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    kill_rest(pid)
    _reap(block=True)  # everything is dead: the pipes reach EOF
    while pipes.live:
        pipes.take(pipes.live[0])
    record = {"i": i, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime}
    record["stderr"] = pipes.text(pipes.err)
    if timed_out:
        record["status"] = "timeout"
        return record
    st = pipes.status
    report = parse_report(pipes.bufs[st]) if pipes.bufs[st] and not pipes.over[st] else None
    if os.WIFSIGNALED(status):
        record.update(status="signal", signal=os.WTERMSIG(status))
    elif report is None:
        record.update(status="exit", code=os.WEXITSTATUS(status))
    else:
        record.update(report)
    if pipes.over[st]:
        record["truncated"] = True
    if job["judge"] == "stdio":
        record["out"] = pipes.text(pipes.out)
        record["truncated"] = record.get("truncated", False) or pipes.over[pipes.out]
    return record


def main(job):
    global json
    if job["judge"] == "call":  # results travel as JSON; imported once, before the forks
        import json
    try:
        if MODE == "namespaces":
            enter_namespaces(job["uid"], job["tmpfs_bytes"])
        elif MODE == "none":
            os.chdir(job["workdir"])
            _libc().prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
            if os.geteuid() == 0:  # even unsandboxed, never run a program as root
                os.chown(".", job["uid"], job["uid"])
                os.setgroups([])
                os.setresgid(job["uid"], job["uid"], job["uid"])
                os.setresuid(job["uid"], job["uid"], job["uid"])
        os.environ.clear()  # what the sandbox tool or the interpreter set (PWD, LC_CTYPE)
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


main(JOB)  # noqa: F821 (the bootstrap defines JOB: see isolation.BOOTSTRAP)
