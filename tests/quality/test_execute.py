"""The program checker: specs, judges and verdicts, through the real executor and sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.execute import (
    Case,
    Executor,
    Judgement,
    Limits,
    SpecError,
    TestSpec,
    Verdict,
    extract_program,
    isolation_available,
    stdout_matches,
    values_match,
)

ADD_STDIO = TestSpec(
    judge="stdio",
    cases=(Case(input="2 3\n", output="5\n"), Case(input="10 20", output="30")),
)
ADD_CALL = TestSpec(
    judge="call",
    entry_point="add",
    cases=(Case(args=[1, 2], expected=3), Case(args=[0.1, 0.2], expected=0.3)),
)
ADD_ASSERT = TestSpec(
    judge="assert",
    entry_point="add",
    code="def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0",
)
FAST = Limits(test_wall_s=2.0)


@pytest.fixture(scope="module")
def ex() -> Iterator[Executor]:
    with Executor(FAST, workers=2) as executor:
        yield executor


def test_spec_json_round_trip() -> None:
    for spec in (ADD_STDIO, ADD_CALL, ADD_ASSERT):
        assert TestSpec.from_json(spec.to_json()) == spec
    assert ADD_CALL.total == 2 and ADD_ASSERT.total == 1


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"judge": "shell", "cases": []}', "judge"),
        ('{"judge": "stdio", "cases": [{"input": 1, "output": "x"}]}', "cases[0].input"),
        ('{"judge": "stdio", "cases": [{"input": "", "output": null}]}', "cases[0].output"),
        ('{"judge": "stdio", "cases": []}', "cases"),
        ('{"judge": "call", "entry_point": "f", "cases": [{"args": 1}]}', "cases[0].args"),
        ('{"judge": "call", "entry_point": "f", "cases": [{"args": []}]}', "cases[0].expected"),
        ('{"judge": "call", "cases": [{"args": [], "expected": 1}]}', "entry_point"),
        ('{"judge": "call", "entry_point": "a b", "cases": []}', "entry_point"),
        ('{"judge": "assert", "entry_point": "f"}', "code"),
        ('{"judge": "assert", "code": "  "}', "code"),
        (
            '{"judge": "stdio", "cases": [{"input": "", "output": ""}], "float_tol": -1}',
            "float_tol",
        ),
        (
            '{"judge": "stdio", "cases": [{"input": "", "output": ""}], "float_tol": true}',
            "float_tol",
        ),
        ('{"judge": "stdio", "cases": [{"input": "", "output": ""}], "tol": 1}', "tol"),
    ],
)
def test_spec_errors_name_the_field(text: str, field: str) -> None:
    with pytest.raises(SpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        TestSpec.from_json(text)


def test_limits_from_reference() -> None:
    assert Limits.from_reference(0.01).test_wall_s == 1.0
    assert Limits.from_reference(0.5).test_wall_s == 2.0
    assert Limits.from_reference(30).test_wall_s == 6.0
    assert Limits(test_wall_s=2).program_wall(3) == 14.0
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="reference"):
            Limits.from_reference(bad)
    with pytest.raises(ValueError, match="memory_bytes"):
        Limits(memory_bytes=0)


def test_stdout_comparison() -> None:
    assert stdout_matches("5\n", "5")
    assert stdout_matches("  1 2 \r\n3\n\n", "1 2\n3")
    assert stdout_matches("1.50", "1.5")  # exact decimals
    assert stdout_matches("1e3", "1000")
    assert not stdout_matches("1 2", "1 2\n3")  # a prefix is not an answer
    assert not stdout_matches("1 2\n3\n4", "1 2\n3")
    assert not stdout_matches("0.30000000000000004", "0.3")
    assert stdout_matches("0.30000000000000004", "0.3", float_tol=1e-9)
    assert not stdout_matches("0.31", "0.3", float_tol=1e-9)
    assert not stdout_matches("1_0", "10")
    assert not stdout_matches("YES", "yes")


def test_value_comparison() -> None:
    assert values_match(0.30000000000000004, 0.3)
    assert values_match([1, [2.0, {"a": 3}]], [1, [2, {"a": 3}]])
    assert not values_match([1, 2], [1, 2, 3])
    assert not values_match(True, 1) and not values_match(1, True)
    assert not values_match(0.31, 0.3) and values_match(0.31, 0.3, float_tol=0.05)
    assert values_match(float("nan"), float("nan"))
    assert not values_match("1", 1)


def test_extract_program() -> None:
    reply = (
        "<think>```python\ndraft()\n```</think>Here:\n```python\nprint(1)\n```\nand\n```\nx\n```"
    )
    assert extract_program(reply) == "x\n"
    assert extract_program(reply, languages=("python",)) == "print(1)\n"
    assert extract_program("```cpp\nint main(){}\n```") is None
    assert extract_program("```cpp\nint main(){}\n```", languages=None) == "int main(){}\n"
    assert extract_program("no code") is None
    assert extract_program("```python\nunclosed") is None


def test_isolation_is_chosen_and_recorded(ex: Executor) -> None:
    chosen = isolation_available()
    assert chosen in ("namespaces", "bubblewrap")
    assert ex.judge("print(5)", ADD_STDIO).isolation == chosen


@pytest.mark.parametrize(
    ("program", "verdict", "passed"),
    [
        ("a, b = map(int, input().split())\nprint(a + b)", Verdict.accepted, 2),
        ("import sys\nprint(sum(map(int, sys.stdin.read().split())))", Verdict.accepted, 2),
        ("print(5)", Verdict.wrong_answer, 1),
        ("print(5)\nprint(5)", Verdict.wrong_answer, 0),
        (
            "a, b = map(int, input().split())\nprint(a + b)\nraise SystemExit(0)",
            Verdict.accepted,
            2,
        ),
        ("a, b = map(int, input().split()\nprint(a + b)", Verdict.syntax_error, 0),
        ("print(1 / 0)", Verdict.runtime_error, 0),
        ("import sys\nsys.exit(3)", Verdict.runtime_error, 0),
        ("x = bytearray(4 << 30)", Verdict.memory_limit, 0),
    ],
)
def test_stdio_verdicts(ex: Executor, program: str, verdict: Verdict, passed: int) -> None:
    j = ex.judge(program, ADD_STDIO)
    assert (j.verdict, j.passed, j.total) == (verdict, passed, 2), j
    assert len(j.tests) == 2


@pytest.mark.parametrize(
    ("program", "verdict", "passed"),
    [
        ("def add(a, b):\n    return a + b", Verdict.accepted, 2),
        ("class Solution:\n    def add(self, a, b):\n        return a + b", Verdict.accepted, 2),
        ("def add(a, b):\n    return round(a + b)", Verdict.wrong_answer, 1),
        ("def add(a, b):\n    return {a, b}", Verdict.wrong_answer, 0),
        ("def plus(a, b):\n    return a + b", Verdict.runtime_error, 0),
        ("def add(a, b):\n    return [a] * 10**9", Verdict.memory_limit, 0),
    ],
)
def test_call_verdicts(ex: Executor, program: str, verdict: Verdict, passed: int) -> None:
    j = ex.judge(program, ADD_CALL)
    assert (j.verdict, j.passed) == (verdict, passed), j


@pytest.mark.parametrize(
    ("program", "verdict"),
    [
        ("def add(a, b):\n    return a + b", Verdict.accepted),
        ("def add(a, b):\n    return a - b", Verdict.wrong_answer),
        ("def add(a, b):\n    pass", Verdict.wrong_answer),
        ("import sys\nsys.exit(0)", Verdict.runtime_error),  # leaving early is not passing
        ("import os\nos._exit(0)", Verdict.runtime_error),
        ("def add(a, b) return a", Verdict.syntax_error),
    ],
)
def test_assert_verdicts(ex: Executor, program: str, verdict: Verdict) -> None:
    j = ex.judge(program, ADD_ASSERT)
    assert j.verdict == verdict, j


def test_judge_many_caches(tmp_path: Path) -> None:
    pairs = [("print(5)", ADD_STDIO), ("def add(a, b):\n    return a + b", ADD_CALL)] * 2
    with Executor(FAST, workers=2, cache_dir=tmp_path) as first:
        results = first.judge_many(pairs)
        assert first.executed == 2  # duplicates run once
    with Executor(FAST, workers=2, cache_dir=tmp_path) as again:
        assert again.judge_many(pairs) == results
        assert again.executed == 0
    assert [r.verdict for r in results[:2]] == [Verdict.wrong_answer, Verdict.accepted]
    assert Judgement.from_dict(json.loads(json.dumps(results[0].to_dict()))) == results[0]


def test_processes_and_shared_memory_work_inside(ex: Executor) -> None:
    program = (
        "import multiprocessing as mp, subprocess, sys\n"
        "with mp.Pool(2) as pool:\n    print(sum(pool.map(abs, [-1, 2])))\n"
        "out = subprocess.run([sys.executable, '-c', 'print(7)'], capture_output=True).stdout\n"
        "print(out.decode())"
    )
    spec = TestSpec(judge="stdio", cases=(Case(input="", output="3\n7"),))
    j = ex.judge(program, spec)
    assert j.verdict == Verdict.accepted, j
    assert len(j.test_seconds) == 1 and j.test_seconds[0] > 0


def test_limits_per_program(ex: Executor) -> None:
    slow = "import time\ntime.sleep(1.5)\nprint(5)"
    spec = TestSpec(judge="stdio", cases=(Case(input="", output="5"),))
    tight = Limits(test_wall_s=1.0, tle_reruns=0)
    loose = Limits(test_wall_s=3.0)
    results = ex.judge_many([(slow, spec), (slow, spec)], limits=[tight, loose])
    assert [j.verdict for j in results] == [Verdict.time_limit, Verdict.accepted]
    with pytest.raises(ValueError, match="2 programs but 1 limits"):
        ex.judge_many([(slow, spec)] * 2, limits=[tight])
