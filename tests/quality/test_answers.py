"""Answer equivalence: a table across types, batch/scalar agreement, time limits."""

from __future__ import annotations

import os
import threading
import time

import pytest

from quality.answers import _pool, answers_match, check_batch, extract_answer, infer_answer_type

# (predicted, reference, answer_type or None to infer, expected)
CASES: list[tuple[str | None, str, str | None, bool]] = [
    # integers, commas, signs, leading zeros
    ("42", "42", None, True),
    ("1,000", "1000", None, True),
    ("1000", "1,000", None, True),
    ("1{,}000", "1000", None, True),
    ("1,000,000", "1000000", None, True),
    ("025", "25", None, True),
    ("-7", "-7", None, True),
    ("7", "-7", None, False),
    ("41", "42", None, False),
    ("10000", "1000", None, False),
    ("1000000", "10^6", None, True),
    # decimals vs fractions
    ("0.5", "\\frac{1}{2}", None, True),
    ("1/2", "0.5", None, True),
    ("\\frac{3}{4}", "3/4", None, True),
    ("\\dfrac{3}{4}", "\\frac34", None, True),
    ("\\tfrac{1}{3}", "\\frac{1}{3}", None, True),
    ("0.333333", "\\frac{1}{3}", None, True),
    ("0.33", "\\frac{1}{3}", None, False),
    ("\\frac{2}{4}", "\\frac{1}{2}", None, True),
    ("\\frac{-3}{4}", "-\\frac{3}{4}", None, True),
    ("\\frac{3}{5}", "\\frac{5}{3}", None, False),
    ("1.25", "\\frac{5}{4}", None, True),
    ("1.2", "1.25", None, False),
    ("3.0", "3", None, True),
    ("12.5", "12", None, False),
    # percentages and units
    ("50\\%", "50", None, True),
    ("50%", "0.5", None, True),
    ("5\\%", "0.05", None, True),
    ("10\\text{ cm}", "10", None, True),
    ("6 \\text{ inches}", "6", None, True),
    ("18 dollars", "18", None, True),
    ("\\$18", "18", None, True),
    ("$18.00", "18", None, True),
    ("90^\\circ", "90", None, True),
    ("145^{\\circ}", "145^\\circ", None, True),
    ("19 dollars", "18", None, False),
    ("1.5 m", "1.5", None, True),
    ("12cm", "12", None, True),
    ("2k", "2", None, False),  # a variable, not a unit
    # LaTeX expressions
    ("\\sqrt{12}", "2\\sqrt{3}", None, True),
    ("2\\sqrt3", "2\\sqrt{3}", None, True),
    ("\\frac{\\pi}{2}", "\\pi/2", None, True),
    ("-\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", None, True),
    ("\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", None, False),
    ("(x+1)^2", "x^2+2x+1", None, True),
    ("x^2+2x", "x^2+2x+1", None, False),
    ("6 - 5i", "6-5i", None, True),
    ("6+5i", "6-5i", None, False),
    ("x = 5", "5", None, True),
    ("5", "x=5", None, True),
    ("\\boxed{7}", "7", None, True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", None, True),
    ("11\\sqrt{2}", "11\\sqrt2", None, True),
    ("3\\sqrt{13}", "\\sqrt{117}", None, True),
    ("3\\sqrt{13}", "\\sqrt{113}", None, False),
    # sets, intervals, tuples
    ("\\{1,2\\}", "\\{2,1\\}", None, True),
    ("1, -2", "1,-2", None, True),
    ("-2, 1", "1,-2", None, True),
    ("3, 5, 7", "3,5,7", None, True),
    ("3, 5", "3,5,7", None, False),
    ("(3,4]", "(3, 4]", None, True),
    ("(3,4)", "(3,4]", None, False),
    ("[2,\\infty)", "[2, \\infty)", None, True),
    ("(6,31,-1)", "(6, 31, -1)", None, True),
    ("(-1,6,31)", "(6,31,-1)", None, False),
    ("(2,1)", "(1,2)", None, False),
    ("(2, 12) \\cup (12, 102)", "(2,12) \\cup (12,102)", None, True),  # not a thousands comma
    ("(12, 103)", "(12,102)", None, False),
    ("5", "5, 6", None, False),
    ("5, 6", "5", None, False),
    ("1,000 dollars", "1000", None, True),
    # multiple choice
    ("B", "B", None, True),
    ("(B)", "B", None, True),
    ("\\text{(C)}", "C", None, True),
    ("b", "B", "choice", True),
    ("B) 42", "B", "choice", True),
    ("C", "B", None, False),
    ("A", "\\text{(A)}", None, True),
    (None, "B", "choice", False),
    ("B or C", "B", "choice", False),  # not one letter
    ("The answer is B", "B", "choice", True),
    # strings
    ("Evelyn", "\\text{Evelyn}", None, True),
    ("evelyn", "Evelyn", "text", True),
    ("\\text{east}", "\\text{east}", None, True),
    ("East.", "east", "text", True),
    ("west", "\\text{east}", None, False),
    ("  Monday  ", "monday", "text", True),
    ("odd", "even", None, False),
    ("", "even", None, False),
    ("C, B", "B, C", None, True),  # several options: a set of letters
    ("A, C, F", "\\text{ACF}", None, True),
    ("A, C", "\\text{A,C,F}", None, False),
    # LaTeX spacing inside numbers, mixed numbers (math-verify reads them as mixed)
    ("15000", "\\$15,\\!000", None, True),
    ("1\\,000", "1000", None, True),
    ("\\frac{35}{3}", "11 \\frac{2}{3}", None, True),
    ("7, -2, -5", "7, -2, \\text{ and } -5", None, True),
    # missing predictions
    (None, "5", None, False),
    ("", "5", None, False),
    ("   ", "\\frac{1}{2}", None, False),
]


def _case_id(case: tuple[str | None, str, str | None, bool]) -> str:
    pred, ref, kind, expected = case
    return f"{pred!r}~{ref!r}:{kind or 'infer'}:{'eq' if expected else 'ne'}"


def test_table_is_large_and_balanced() -> None:
    assert len(CASES) >= 60
    assert sum(c[3] for c in CASES) >= 25 and sum(not c[3] for c in CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_answers_match(case: tuple[str | None, str, str | None, bool]) -> None:
    pred, ref, kind, expected = case
    assert answers_match(pred, ref, kind) is expected


def test_batch_agrees_with_single_checks() -> None:
    # >= _SCALAR_MAX rows: the Polars fast paths, not the per-pair Python ones
    preds = [c[0] for c in CASES]
    refs = [c[1] for c in CASES]
    kinds = [c[2] for c in CASES]
    assert check_batch(preds, refs, kinds) == [c[3] for c in CASES]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("B", "choice"),
        ("\\text{(D)}", "choice"),
        ("42", "number"),
        ("1,000", "number"),
        ("-0.15", "number"),
        ("90^\\circ", "number"),
        ("\\frac{14}{3}", "math"),
        ("3/4", "math"),
        ("\\{1,2\\}", "math"),
        ("(3,4]", "math"),
        ("x^3+3x-6", "math"),
        ("p - q", "math"),
        ("x", "math"),
        ("\\text{Evelyn}", "text"),
        ("odd", "text"),
        ("Saturday and Sunday", "text"),
    ],
)
def test_infer_answer_type(reference: str, expected: str) -> None:
    assert infer_answer_type(reference) == expected


def test_batch_validates_inputs() -> None:
    assert check_batch([], []) == []
    with pytest.raises(ValueError, match="same length"):
        check_batch(["1"], ["1", "2"])
    with pytest.raises(ValueError, match="unknown answer_type"):
        check_batch(["1"], ["1"], ["integer"])


def test_batch_deduplicates_and_keeps_order() -> None:
    preds = ["\\sqrt{12}", "\\sqrt{11}"] * 50
    refs = ["2\\sqrt{3}"] * 100
    assert check_batch(preds, refs) == [True, False] * 50


# A tower that sympy tries to evaluate: math-verify would spend far longer than the limit.
PATHOLOGICAL = "9^{9^{9^{9}}}"


def test_timeout_in_main_thread() -> None:
    started = time.monotonic()
    assert answers_match(PATHOLOGICAL, "2\\sqrt{3}", "math", timeout_s=0.5) is False
    assert time.monotonic() - started < 20


def test_timeout_off_the_main_thread() -> None:
    out: list[tuple[bool, bool]] = []

    def worker() -> None:
        slow = answers_match(PATHOLOGICAL, "2\\sqrt{3}", "math", timeout_s=0.5)
        fine = answers_match("\\sqrt{12}", "2\\sqrt{3}", "math", timeout_s=5.0)
        out.append((slow, fine))

    started = time.monotonic()
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=120)  # includes starting a worker process (imports sympy)
    assert not thread.is_alive()
    assert out == [(False, True)]
    assert time.monotonic() - started < 120


def test_concurrent_threads_get_their_own_answers() -> None:
    pairs = [("\\sqrt{12}", "2\\sqrt{3}", True), ("\\sqrt{11}", "2\\sqrt{3}", False)] * 4
    results: dict[int, bool] = {}

    def run(i: int, pred: str, ref: str) -> None:
        results[i] = answers_match(pred, ref, "math")

    threads = [threading.Thread(target=run, args=(i, p, r)) for i, (p, r, _) in enumerate(pairs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == {i: want for i, (_, _, want) in enumerate(pairs)}


def test_stuck_worker_is_killed_and_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: a negative grace makes the parent give up before the worker's own timer,
    # as it would for a check stuck in C code that no signal can interrupt.
    pool = _pool.WorkerPool(max_workers=1)
    try:
        assert pool.check("\\sqrt{12}", "2\\sqrt{3}", 5.0) is True  # worker started and ready
        monkeypatch.setattr(_pool, "_GRACE_S", -0.8)
        started = time.monotonic()
        assert pool.check(PATHOLOGICAL, "2\\sqrt{3}", 1.0) is False
        assert time.monotonic() - started < 10
        monkeypatch.setattr(_pool, "_GRACE_S", 1.0)
        assert pool.check("\\frac{1}{2}", "0.5", 30.0) is True  # served by the replacement
    finally:
        pool.shutdown()


def test_pool_batch_matches_in_process() -> None:
    preds = [c[0] for c in CASES if c[2] is None]
    refs = [c[1] for c in CASES if c[2] is None]
    in_process = check_batch(preds, refs, workers=0)
    assert check_batch(preds, refs, workers=2) == in_process


def test_worker_that_cannot_start_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: a broken interpreter path. Silently counting every check False would
    # hide a broken environment, so the pool must say so.
    monkeypatch.setattr(_pool.sys, "executable", "/bin/false")
    pool = _pool.WorkerPool(max_workers=2)
    try:
        with pytest.raises(_pool.WorkerStartError):
            pool.check_many([("\\sqrt{12}", "2\\sqrt{3}")] * 4, 5.0, parallel=2)
    finally:
        pool.shutdown()


LONG_INPUTS = [
    " " * 50_000 + "x",
    "a" + " " * 50_000 + "b",
    "A" + " " * 50_000 + "!",
    "answer" + " " * 50_000 + "x",
    "The answer is" + " " * 50_000 + "5",
    "^" + " " * 50_000 + "x",
    "\\(" + " " * 50_000 + "a",
    "1." * 25_000,
    "." * 50_000 + "x",
    "\n" * 50_000 + "B",
    "\\boxed{" * 5_000,
    "{" * 50_000,
]


def test_long_inputs_do_not_blow_up_the_regexes() -> None:
    # Python's re backtracks: a pattern with two quantifiers over the same run of spaces takes
    # minutes here. The bound is loose on purpose; a regression is hours, not seconds.
    started = time.monotonic()
    for text in LONG_INPUTS:
        extract_answer(text)
        extract_answer(text, "choice")
        assert answers_match(text, "7", timeout_s=0.5) is False
        assert check_batch([text] * 40, ["7"] * 40, timeout_s=0.5) == [False] * 40
    assert time.monotonic() - started < 120


def test_forked_child_gets_its_own_pool() -> None:
    parent_pool = _pool.pool()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not talk to the parent's workers
        ok = _pool.pool() is not parent_pool and _pool.pool().pid == os.getpid()
        os.write(write_fd, b"1" if ok else b"0")
        os._exit(0)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    assert os.read(read_fd, 1) == b"1" and status == 0
    os.close(read_fd)
    assert _pool.pool() is parent_pool


def test_a_timer_tick_handled_after_a_check_raises_nothing() -> None:
    """CPython may run a pending SIGALRM handler after the timer is disarmed (`signal.signal`
    runs pending handlers first): that late tick must not raise into unrelated code, and the
    handler in place before the check is back."""
    import signal

    from quality.answers._mathverify import _raise_timeout, mv_equal_timed

    before = signal.getsignal(signal.SIGALRM)
    assert mv_equal_timed(r"\frac{1}{2}", "0.5", 1.0) is True
    assert signal.getsignal(signal.SIGALRM) is before
    assert _raise_timeout(signal.SIGALRM, None) is None
