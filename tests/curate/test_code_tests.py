"""Code seeds without tests: stored as needing tests, never taken as verified; `rewrite` writes
tests and keeps only the discriminating ones; the CodeT proxy when there is no reference.

Every program runs in the real sandbox. A planted backend stands in for the teacher where the
test needs a known reply: a non-discriminating test, one the reference fails, good ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from planted import Planted as PlantedBackend

from curate.seeds.ingest import IngestConfig, run_ingest
from curate.teachability.code_tests import Task, check_tests, mutants, parse_tests, task_of
from curate.teachability.codet import consensus
from curate.teachability.proxy import ProxyConfig, run_proxy
from curate.teachability.rewrite import RewriteConfig, run_rewrite
from quality.execute import Executor, TestSpec
from store import Store
from store.tables import PROXY_ANSWERS, QUESTIONS, SEEDS

CLAMP = "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x\n"  # noqa: E501
DOUBLE = "n = int(input())\nprint(2 * n)\n"
GOOD = [
    "assert clamp(5, 0, 10) == 5",
    "assert clamp(-3, 0, 10) == 0",
    "assert clamp(12, 0, 10) == 10",
]  # noqa: E501
PLANTED = [
    "assert True",  # every program passes it
    "assert clamp(0, 0, 0) == clamp(0, 0, 0)",  # so does the empty body
    "assert clamp(5, 0, 10) == 6",  # the reference fails it
    "assert clamp(5, 0, 10 == 5",  # does not parse
    GOOD[0],  # a duplicate
]


def Planted(reply: Callable[[str, int], str]) -> PlantedBackend:  # noqa: N802
    """The fixed teacher of these tests."""
    return PlantedBackend(reply, model="planted-teacher")


def _write(path: Path, records: list[dict[str, object]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _ingest_untested(store: Store, tmp_path: Path) -> dict[str, int]:
    records = [
        {"problem": "Clamp x into [lo, hi].", "reference": CLAMP, "tests": None},
        {"problem": "Read n and print twice n.", "solution": DOUBLE},
        {"problem": "Return the n-th prime.", "entry_point": "nth_prime"},
    ]
    source = _write(tmp_path / "untested.jsonl", records)
    return run_ingest(store, IngestConfig(source=source, name="untested", domain="code"))


def test_code_seeds_without_tests_are_stored_as_needing_tests(store: Store, tmp_path: Path) -> None:
    counts = _ingest_untested(store, tmp_path)
    assert (counts["seeds_inserted"], counts["code_without_tests"]) == (3, 3)
    seeds = store.table(SEEDS).sort("problem")
    assert seeds["tests"].null_count() == 3 and set(seeds["domain"]) == {"code"}
    assert seeds["answer"].to_list() == [CLAMP, DOUBLE, None]
    assert "`nth_prime`" in seeds["problem"][2]
    # HumanEval / MBPP records whose tests are empty are code seeds needing tests too;
    # unreadable tests are still a reject
    he = {"task_id": "x/1", "prompt": "def inc(x):\n", "entry_point": "inc", "test": ""}
    mbpp = {"task_id": 9, "text": "Add one.", "code": "def inc(x): return x + 1", "test_list": []}
    bad = {"task_id": 10, "text": "Add two.", "code": "def f(x): return x", "test_list": "nope"}
    run_ingest(store, IngestConfig(source=_write(tmp_path / "he.jsonl", [he]), name="he"))
    mixed = _write(tmp_path / "mbpp.jsonl", [mbpp, bad])
    again = run_ingest(store, IngestConfig(source=mixed, name="mbpp", on_error="skip"))
    assert (again["seeds_inserted"], again["rejected"], again["code_without_tests"]) == (1, 1, 1)
    # the proxy never takes an untested reference as verified
    run_proxy(store, ProxyConfig(where="source = 'untested' AND answer IS NOT NULL"))
    methods = store.table(PROXY_ANSWERS).join(store.table(SEEDS), on="seed_id")
    assert set(methods["method"]) == {"untested"} and set(methods["reason"]) == {"no_tests"}


def test_difficulty_and_traces_leave_untested_code_out(store: Store, tmp_path: Path) -> None:
    from curate.teachability.difficulty import DifficultyConfig, run_difficulty
    from synth.traces import TracesConfig, run_traces

    _ingest_untested(store, tmp_path)
    planted = Planted(lambda text, seed: "```python\npass\n```")
    counts = run_difficulty(store, DifficultyConfig(samples=2), backends=[planted])
    assert counts["code_untested"] == 3 and counts.get("code_seeds", 0) == 0
    counts = run_traces(store, TracesConfig(teacher="synthetic"))
    assert (counts["code_untested"], counts.get("traces_inserted", 0)) == (3, 0)


def test_mutants_parse_and_task_kinds() -> None:
    found = mutants(CLAMP, limit=5)
    assert len(found) == 2 and "if x > lo:" in found[0] and "if x < hi:" in found[1]
    arith = mutants("def f(a, b):\n    return a + 2 if a and b else a % b\n", limit=10)
    assert len(arith) == len(set(arith)) == 4
    assert {"a - 2", "a + 3", "a or b", "a // b"} == {
        next(s for s in ("a - 2", "a + 3", "a or b", "a // b") if s in m) for m in arith
    }
    assert len(mutants(CLAMP, limit=1)) == 1 and mutants("def f(:\n", 3) == []
    assert task_of("p", CLAMP) == Task("call", "clamp")
    assert task_of("p", DOUBLE) == Task("stdio")
    assert task_of("Write `def area(r):`", None) == Task("call", "area")
    assert task_of("Print the sum of the input.", None) == Task("stdio")
    assert task_of("Write a Python function `add_9(x)` that", None) == Task("call", "add_9")
    assert task_of("Sum.\n\nName the function `total`.", None) == Task("call", "total")
    tests = parse_tests(
        "```python\n" + "\n".join([*PLANTED, *GOOD]) + "\n```", Task("call", "clamp")
    )
    judges = [t.spec.judge if t.spec else None for t in tests]
    assert judges == ["assert", "assert", "call", None, "call", "call", "call", "call"]
    blocks = parse_tests("Input:\n3\nOutput:\n6\n\nInput:\n4\n", Task("stdio"))
    assert blocks[0].spec == TestSpec.from_dict(
        {"judge": "stdio", "cases": [{"input": "3\n", "output": "6"}]}
    )
    assert blocks[1].spec is None  # no Output: part
    assert parse_tests("I cannot write tests.", Task("stdio")) == []
    assert parse_tests("", Task("call", "clamp")) == []


def _teacher(tests: dict[str, str]) -> Callable[[str, int], str]:
    def reply(text: str, seed: int) -> str:
        return next(r for key, r in tests.items() if key in text)

    return reply


def test_rewrite_keeps_only_discriminating_tests(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planted non-discriminating tests, the one the reference fails and the unparseable
    one are dropped with their reasons; the good ones are kept and the seed is verified."""
    _ingest_untested(store, tmp_path)
    replies = {
        "Clamp x": "\n".join([*PLANTED, *GOOD]),
        "twice n": "Input:\n3\nOutput:\n6\n\nInput:\n0\nOutput:\n0\n\nInput:\n5\nOutput:\n10\n"
        "\nInput:\n-2\nOutput:\n-4\n",
        "n-th prime": "assert nth_prime(1) == 2",
    }
    config = RewriteConfig(min_tests=3)
    counts = run_rewrite(store, config, rewriter=Planted(_teacher(replies)))
    rows = store.table(QUESTIONS).sort("question")
    by = {
        q.split()[0]: r for q, r in zip(rows["question"], rows.iter_rows(named=True), strict=True)
    }
    clamp = by["Clamp"]
    assert (clamp["status"], clamp["tests_proposed"], clamp["tests_kept"]) == ("kept", 8, 3)
    dropped = {d["test"]: d["reason"] for d in json.loads(clamp["tests_dropped"])}
    assert dropped == {
        "assert True": "not_discriminating",
        "assert clamp(0, 0, 0) == clamp(0, 0, 0)": "not_discriminating",
        "assert clamp(5, 0, 10) == 6": "reference_fails",
        "assert clamp(5, 0, 10 == 5": "does_not_parse",
        GOOD[0]: "duplicate",
    }
    spec = TestSpec.from_json(clamp["tests"])
    assert [c.args for c in spec.cases] == [[5, 0, 10], [-3, 0, 10], [12, 0, 10]]
    assert clamp["checked_by"] == "reference"
    # the stdio seed: the empty program prints nothing, and `2 + n` fails every case
    double = by["Read"]
    assert (double["status"], double["tests_kept"], double["tests_dropped"]) == ("kept", 4, "[]")
    assert TestSpec.from_json(double["tests"]).judge == "stdio"
    # no reference and no CodeT proxy: nothing to check tests against
    prime = by["Return"]
    assert prime["status"] == "rejected" and "no program" in prime["reason"]
    assert prime["tests"] is None
    assert counts["tests_dropped_not_discriminating"] >= 2 and counts["rejected"] == 1
    # every kept spec passes its reference in the sandbox, and the empty program fails it
    with Executor(workers=2) as executor:
        assert executor.judge(CLAMP, spec).accepted
        assert not executor.judge(Task("call", "clamp").empty_program, spec).accepted
    # a re-run adds nothing and executes nothing: every verdict comes from the store's cache
    executed: list[str] = []
    run_once = Executor._run

    def counting(self: Executor, *args: object) -> object:
        executed.append("run")
        return run_once(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Executor, "_run", counting)
    with Executor(workers=1) as executor:  # the spy sees a program that is run
        executor.judge("def clamp(*a):\n    return 0\n", spec)
    assert executed == ["run"]
    executed.clear()
    again = run_rewrite(store, config, rewriter=Planted(_teacher(replies)))
    assert (again["questions_inserted"], executed) == (0, [])
    monkeypatch.undo()
    # too few discriminating tests: the seed stays unverifiable
    few = run_rewrite(
        store, RewriteConfig(min_tests=4, where="problem LIKE 'Clamp%'"),
        rewriter=Planted(_teacher(replies)),
    )  # fmt: skip
    assert few["rejected"] == 1
    latest = store.table(QUESTIONS).filter(pl.col("reason").str.contains("min_tests 4"))
    assert latest.height == 1 and latest["tests"][0] is None


PRIME = "def nth_prime(n):\n    k, p = 0, 1\n    while k < n:\n        p += 1\n        if all(p % d for d in range(2, p)):\n            k += 1\n    return p\n"  # noqa: E501
WRONG = "def nth_prime(n):\n    return 2 * n + 1\n"
CRASH = "def nth_prime(n):\n    return 1 // 0\n"
PRIME_TESTS = "assert nth_prime(1) == 2\nassert nth_prime(3) == 5\nassert nth_prime(4) == 9\n"


def test_codet_consensus_on_planted_programs() -> None:
    task = Task("call", "nth_prime")
    tests = parse_tests(PRIME_TESTS, task)
    also = PRIME.replace("all(p % d", "not any(p % d == 0")  # the same outputs, other code
    jobs = [
        (task, [PRIME, WRONG, also, CRASH, PRIME], tests),  # majority right
        (task, [PRIME, WRONG, CRASH, None], tests),  # 1 of 4 agree: no majority
        (task, [PRIME, WRONG], parse_tests("assert True", task)),  # no inputs
    ]
    with Executor(workers=2) as executor:
        majority, split, blind = consensus(executor, jobs, min_agreement=0.5)
    assert majority.program == PRIME and (majority.votes, majority.samples) == (3, 5)
    assert majority.support == pytest.approx(0.6) and majority.passed == 2
    assert split.program is None and split.reason == "low_agreement"
    assert blind.program is None and blind.reason == "no_inputs"
    # two groups of one: the one whose outputs pass the teacher's test wins (CodeT's score);
    # when neither passes, they tie: no consensus
    wrong_test = parse_tests("assert nth_prime(2) == 4", task)
    pairs = [(task, [WRONG, PRIME], tests[:1]), (task, [PRIME, WRONG], wrong_test)]
    with Executor(workers=2) as executor:
        scored, tie = consensus(executor, pairs, min_agreement=0.5)
    assert scored.program == PRIME and (scored.support, scored.passed) == (0.5, 1)
    assert tie.program is None and tie.reason == "tie"


def test_codet_proxy_then_rewrite_checks_tests_against_it(store: Store, tmp_path: Path) -> None:
    source = _write(
        tmp_path / "p.jsonl", [{"problem": "Return the n-th prime.", "entry_point": "nth_prime"}]
    )  # noqa: E501
    run_ingest(store, IngestConfig(source=source, name="p", domain="code"))
    programs = [PRIME, WRONG, PRIME, CRASH, PRIME]

    def reply(text: str, seed: int) -> str:
        if "tests for the programming problem" in text:
            return PRIME_TESTS + "assert nth_prime(2) == 3\nassert nth_prime(6) == 13\n"
        return f"```python\n{programs[seed % len(programs)]}```"

    before = run_rewrite(store, RewriteConfig(), rewriter=Planted(reply))
    assert before["rejected"] == 1  # no reference, no proxy yet: nothing to check tests against
    counts = run_proxy(store, ProxyConfig(code_samples=5), backend=Planted(reply))
    assert counts["codet"] == 1
    row = store.table(PROXY_ANSWERS).row(0, named=True)
    assert (row["method"], row["answer"], row["votes"], row["samples"]) == ("codet", PRIME, 3, 5)
    again = run_proxy(store, ProxyConfig(code_samples=5), backend=Planted(reply))
    assert again["done_before"] == 1 and again.get("codet", 0) == 0
    run_rewrite(store, RewriteConfig(), rewriter=Planted(reply))
    question = store.table(QUESTIONS).filter(pl.col("status") == "kept").row(0, named=True)
    assert (question["status"], question["checked_by"]) == ("kept", "codet")
    assert question["tests_kept"] == 4  # nth_prime(4) == 9 is wrong: the proxy fails it


def test_check_tests_without_mutation_sites_needs_only_the_empty_body() -> None:
    task = Task("stdio")
    tests = parse_tests("Input:\nx\nOutput:\nhello\n", task)
    with Executor(workers=1) as executor:
        (checked,) = check_tests(executor, [("print('hello')\n", task, tests)])
    assert (len(checked.kept), checked.mutants) == (1, 0)


def test_runaway_replies_and_impossible_minimums() -> None:
    """A reply with far more tests than asked runs only the first 2x; a minimum above what is
    asked is refused before any model call."""
    task = Task("call", "clamp")
    lines = "\n".join(f"assert clamp({i}, 0, 10) == {min(i, 10)}" for i in range(40))
    with Executor(workers=2) as executor:
        (checked,) = check_tests(executor, [(CLAMP, task, parse_tests(lines, task))], max_tests=4)
    reasons = [r for _, r in checked.dropped]
    assert (checked.proposed, reasons.count("extra"), len(checked.kept)) == (40, 36, 4)
    for bad in ({"min_tests": 7, "tests_per_seed": 6}, {"min_tests": 0}, {"mutants": 0}):
        with pytest.raises(ValueError, match="min_tests|mutants"):
            RewriteConfig(**bad)  # type: ignore[arg-type]


def test_review_shows_an_untested_code_seed_as_untested() -> None:
    from quality.review.context import _reference

    shown = _reference({"domain": "code", "answer": CLAMP, "tests": None}, None, None)
    assert shown.startswith(CLAMP) and "untested" in shown
    assert "untested" in _reference({"domain": "code", "answer": None, "tests": None}, None, None)
