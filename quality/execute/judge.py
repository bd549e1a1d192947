"""Judging one test from what the harness reported: stdout compared token by token (numbers as
exact decimals, LiveCodeBench's rule: equal line counts, so a prefix never passes), call results
with == and floats with isclose, assert-style tests by their clean exit."""

from __future__ import annotations

import json
import math
import re
import signal
from decimal import Decimal, InvalidOperation
from typing import Any

from quality.execute.spec import Case, TestSpec, Verdict

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _numbers_equal(a: str, b: str, tol: float | None) -> bool:
    if not (_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b)):
        return False
    try:
        x, y = Decimal(a), Decimal(b)
    except InvalidOperation:
        return False
    if x == y:
        return True
    if tol is None:
        return False
    diff = abs(x - y)
    bound = Decimal(repr(tol))
    return diff <= bound or diff <= bound * abs(y)


def stdout_matches(got: str, want: str, float_tol: float | None = None) -> bool:
    got_lines = got.strip().split("\n")
    want_lines = want.strip().split("\n")
    if len(got_lines) != len(want_lines):
        return False
    for g, w in zip(got_lines, want_lines, strict=True):
        g, w = g.strip(), w.strip()
        if g == w:
            continue
        g_tokens, w_tokens = g.split(), w.split()
        if len(g_tokens) != len(w_tokens):
            return False
        for a, b in zip(g_tokens, w_tokens, strict=True):
            if a != b and not _numbers_equal(a, b, float_tol):
                return False
    return True


def values_match(got: Any, want: Any, float_tol: float | None = None) -> bool:
    if isinstance(got, bool) or isinstance(want, bool):
        return type(got) is type(want) and got == want
    if isinstance(got, int | float) and isinstance(want, int | float):
        if isinstance(got, int) and isinstance(want, int):
            return got == want
        if math.isnan(got) or math.isnan(want):
            return math.isnan(got) and math.isnan(want)
        if float_tol is None:
            return math.isclose(got, want)
        return math.isclose(got, want, rel_tol=float_tol, abs_tol=float_tol)
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(
            values_match(g, w, float_tol) for g, w in zip(got, want, strict=True)
        )
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(
            values_match(got[k], want[k], float_tol) for k in got
        )
    return type(got) is type(want) and got == want


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def verdict_of(record: dict[str, Any], case: Case | None, spec: TestSpec) -> tuple[Verdict, str]:
    """The verdict of one test and a short reason (empty when accepted)."""
    status = record.get("status")
    detail = str(record.get("detail") or "").strip()
    if status == "syntax":
        return Verdict.syntax_error, detail
    if status == "timeout":
        return Verdict.time_limit, f"over {record.get('wall', 0):.2f} s wall"
    if record.get("truncated"):
        return Verdict.wrong_answer, "output over the size limit"
    if status == "signal":
        sig = int(record.get("signal", 0))
        if sig == signal.SIGXCPU:
            return Verdict.time_limit, "CPU time limit"
        return Verdict.runtime_error, f"killed by {_signal_name(sig)}"
    if status == "exception":
        if record.get("exc") == "MemoryError":
            return Verdict.memory_limit, detail or "MemoryError"
        if record.get("exc") == "AssertionError" and spec.judge == "assert":
            return Verdict.wrong_answer, detail or "AssertionError"
        return Verdict.runtime_error, detail
    if status == "exit":
        code = record.get("code")
        return Verdict.runtime_error, detail or f"exited with status {code} before finishing"
    if status != "ok":
        return Verdict.sandbox_error, f"unknown test status {status!r}"
    if spec.judge == "assert":
        return Verdict.accepted, ""
    assert case is not None
    if spec.judge == "stdio":
        if stdout_matches(str(record.get("out", "")), str(case.output), spec.float_tol):
            return Verdict.accepted, ""
        return Verdict.wrong_answer, "output differs"
    try:
        value = json.loads(record.get("value", ""))
    except (ValueError, RecursionError, TypeError):
        return Verdict.wrong_answer, "result is not a JSON value"
    if values_match(value, case.expected, spec.float_tol):
        return Verdict.accepted, ""
    return Verdict.wrong_answer, f"returned {str(record.get('value'))[:80]}"
