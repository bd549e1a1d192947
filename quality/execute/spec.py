"""What a program is judged against (TestSpec), under which limits (Limits), and the outcome
(Judgement). A TestSpec travels as JSON (a dataset column, a store cell): `from_json` names the
field that is wrong, `to_json` is canonical (sorted keys), so equal specs give equal cache keys.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from typing import Any, Literal

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10
    from enum import Enum

    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


class Verdict(StrEnum):
    accepted = "accepted"
    wrong_answer = "wrong_answer"
    time_limit = "time_limit"
    memory_limit = "memory_limit"
    runtime_error = "runtime_error"
    syntax_error = "syntax_error"
    # The sandbox itself failed: retried, and never scored as a wrong program.
    sandbox_error = "sandbox_error"


Judge = Literal["stdio", "call", "assert"]
JUDGES: tuple[str, ...] = ("stdio", "call", "assert")


class SpecError(ValueError):
    """A TestSpec that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Case:
    """One test: stdin/stdout text (stdio) or JSON arguments and expected value (call)."""

    input: str | None = None
    output: str | None = None
    args: list[Any] | None = None
    expected: Any = None

    def to_dict(self) -> dict[str, Any]:
        if self.args is not None:
            return {"args": list(self.args), "expected": self.expected}
        return {"input": self.input, "output": self.output}


@dataclass(frozen=True)
class TestSpec:
    __test__ = False  # not a pytest class

    judge: Judge
    entry_point: str | None = None
    cases: tuple[Case, ...] = ()
    code: str | None = None  # assert-style test code; the harness then calls check(entry_point)
    float_tol: float | None = None

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def total(self) -> int:
        """Number of tests: one per case, one for assert-style test code."""
        return 1 if self.judge == "assert" else len(self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "entry_point": self.entry_point,
            "cases": [c.to_dict() for c in self.cases],
            "code": self.code,
            "float_tol": self.float_tol,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> TestSpec:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"test spec: not JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> TestSpec:
        if not isinstance(data, dict):
            raise SpecError("test spec: expected a JSON object")
        unknown = sorted(set(data) - {"judge", "entry_point", "cases", "code", "float_tol"})
        if unknown:
            raise SpecError(f"test spec: unknown field {unknown[0]!r}")
        judge = data.get("judge")
        if judge not in JUDGES:
            raise SpecError(f"judge: expected one of {', '.join(JUDGES)}, got {judge!r}")
        raw_cases = data.get("cases") or []
        if not isinstance(raw_cases, list):
            raise SpecError("cases: expected a list")
        cases = tuple(_case(judge, i, c) for i, c in enumerate(raw_cases))
        return cls(
            judge=judge,
            entry_point=data.get("entry_point"),
            cases=cases,
            code=data.get("code"),
            float_tol=data.get("float_tol"),
        )


def _case(judge: str, i: int, raw: Any) -> Case:
    where = f"cases[{i}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected an object")
    if judge == "stdio":
        for key in ("input", "output"):
            if not isinstance(raw.get(key), str):
                raise SpecError(f"{where}.{key}: expected a string")
        return Case(input=raw["input"], output=raw["output"])
    if not isinstance(raw.get("args"), list):
        raise SpecError(f"{where}.args: expected a list of JSON arguments")
    if "expected" not in raw:
        raise SpecError(f"{where}.expected: missing")
    return Case(args=raw["args"], expected=raw["expected"])


def _validate(spec: TestSpec) -> None:
    if spec.judge not in JUDGES:
        raise SpecError(f"judge: expected one of {', '.join(JUDGES)}, got {spec.judge!r}")
    if spec.entry_point is not None and (
        not isinstance(spec.entry_point, str) or not spec.entry_point.isidentifier()
    ):
        raise SpecError(f"entry_point: expected a Python identifier, got {spec.entry_point!r}")
    if spec.judge == "call" and spec.entry_point is None:
        raise SpecError("entry_point: a call-based judge needs the function's name")
    if spec.judge == "assert":
        if not isinstance(spec.code, str) or not spec.code.strip():
            raise SpecError("code: an assert-style judge needs the test code")
        if spec.cases:
            raise SpecError("cases: an assert-style judge takes its tests from `code`")
    elif spec.code is not None:
        raise SpecError(f"code: only the assert judge takes test code, not {spec.judge}")
    elif not spec.cases:
        raise SpecError("cases: expected at least one test case")
    tol = spec.float_tol
    number = isinstance(tol, int | float) and not isinstance(tol, bool)
    if tol is not None and not (number and math.isfinite(tol) and tol >= 0):
        raise SpecError(f"float_tol: expected a finite number >= 0, got {tol!r}")
    for i, case in enumerate(spec.cases):
        ok = (
            isinstance(case.input, str) and isinstance(case.output, str)
            if spec.judge == "stdio"
            else isinstance(case.args, list)
        )
        if not ok:
            raise SpecError(f"cases[{i}]: not a {spec.judge} case")


_GIB = 1 << 30
_MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Per-program limits. `test_wall_s` defaults to the 6 s cap: with no reference solution
    measured, the lenient end (a tight limit on a loaded CPU turns right programs into TLEs)."""

    test_wall_s: float = 6.0
    cpu_s: float | None = None  # per test; None: the same as test_wall_s
    program_wall_s: float | None = None  # None: (test_wall_s + 1) * tests + 5
    memory_bytes: int = _GIB  # address space
    processes: int = 64
    open_files: int = 64
    file_bytes: int = 16 * _MIB  # largest file a program may write
    stdout_bytes: int = _MIB  # stdout beyond this is cut (and the test fails)
    tle_reruns: int = 1  # a time-out is re-run this many times before it counts

    def __post_init__(self) -> None:
        for name in ("test_wall_s", "cpu_s", "program_wall_s"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"Limits.{name}: expected seconds > 0, got {value!r}")
        for name in ("memory_bytes", "processes", "open_files", "file_bytes", "stdout_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name}: expected a positive integer, got {value!r}")

    @classmethod
    def from_reference(cls, seconds: float, **overrides: Any) -> Limits:
        """Per-test wall time max(1 s, 4 x the reference's time), capped at 6 s."""
        if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"reference time: expected seconds >= 0, got {seconds!r}")
        return cls(test_wall_s=min(6.0, max(1.0, 4.0 * seconds)), **overrides)

    @property
    def test_cpu_s(self) -> float:
        return self.cpu_s if self.cpu_s is not None else self.test_wall_s

    def program_wall(self, tests: int) -> float:
        if self.program_wall_s is not None:
            return self.program_wall_s
        return (self.test_wall_s + 1.0) * max(tests, 1) + 5.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    passed: int
    total: int
    tests: tuple[Verdict, ...]
    isolation: str  # "namespaces", "bubblewrap" or "none"
    seconds: float
    detail: str = ""
    # wall seconds of each test that ran, as the harness measured it (no start-up): the slowest
    # one of a reference solution is what `Limits.from_reference` takes
    test_seconds: tuple[float, ...] = ()
    # what each test's program produced (stdio: its stdout, call: the returned value as JSON;
    # None where it produced nothing, e.g. assert-style tests or a crash), long ones cut to a
    # prefix plus a digest: CodeT groups programs by these (curate.teachability.codet)
    outputs: tuple[str | None, ...] = ()

    @classmethod
    def every_test(
        cls, verdict: Verdict, total: int, isolation: str, seconds: float, detail: str
    ) -> Judgement:
        """One verdict for every test: the program never ran them (no program, sandbox error)."""
        return cls(verdict, 0, total, (verdict,) * total, isolation, seconds, detail)

    @property
    def accepted(self) -> bool:
        return self.verdict == Verdict.accepted

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "passed": self.passed,
            "total": self.total,
            "tests": [str(v) for v in self.tests],
            "isolation": self.isolation,
            "seconds": self.seconds,
            "detail": self.detail,
            "test_seconds": list(self.test_seconds),
            "outputs": list(self.outputs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Judgement:
        return cls(
            verdict=Verdict(data["verdict"]),
            passed=int(data["passed"]),
            total=int(data["total"]),
            tests=tuple(Verdict(v) for v in data["tests"]),
            isolation=str(data["isolation"]),
            seconds=float(data["seconds"]),
            detail=str(data.get("detail", "")),
            test_seconds=tuple(float(x) for x in data.get("test_seconds", ())),
            outputs=tuple(None if x is None else str(x) for x in data.get("outputs", ())),
        )
