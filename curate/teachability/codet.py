"""CodeT-style proxy ground truth for a code seed with neither tests nor a reference program.

N teacher programs and the teacher's tests are drawn (the tests' inputs are what the programs
are run on); every program runs on every input in the sandbox, and programs that produce the
same outputs on all inputs form one group. Groups are ranked by CodeT's score (Chen et al.
2022, "CodeT: code generation with generated tests"): programs in the group x teacher tests its
outputs pass; ties on the score go to the larger group. The winner is the proxy only when it holds
at least `min_agreement` of the N programs (a majority by default) and no other group ties it;
otherwise the seed is unverifiable (reason `tie`, `low_agreement` or `no_programs`), never kept
silently. A program that crashes on every input is in no group.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from curate.teachability.code_tests import Proposed, Task, task_of

if TYPE_CHECKING:
    from quality.execute import Case, Executor, Limits, TestSpec
    from synth.session import ModelSession

_PROBE = "\x00codet-probe"  # the expected value of a probe: the verdict is not what is read
_CRASH = "\x00!"  # marks a crash in an output vector (no program prints a NUL byte first)


@dataclass(frozen=True)
class Consensus:
    """The outcome for one seed: the proxy program (None: unverifiable, with the reason)."""

    program: str | None
    support: float  # share of the N programs in the winning group
    votes: int  # programs in the winning group
    samples: int  # programs drawn
    passed: int  # teacher tests the winning group's outputs pass
    inputs: int  # inputs every program ran on
    reason: str | None = None


def probe_spec(task: Task, tests: Sequence[Proposed]) -> TestSpec | None:
    """One spec running every distinct input of the parsed tests (call args or stdin), or None
    when the tests give no input (assert-only tests, or none parsed)."""
    from quality.execute import Case, TestSpec

    cases: dict[str, Case] = {}
    for test in tests:
        if test.spec is None or test.spec.judge != task.judge:
            continue
        for case in test.spec.cases:
            if task.judge == "call":
                probe = Case(args=case.args, expected=_PROBE)
            else:
                probe = Case(input=case.input, output=_PROBE)
            cases.setdefault(json.dumps(probe.to_dict(), sort_keys=True), probe)
    if not cases:
        return None
    return TestSpec(task.judge, task.entry_point, tuple(cases.values()))


def consensus(
    executor: Executor,
    jobs: Sequence[tuple[Task, list[str | None], list[Proposed]]],
    min_agreement: float,
    limits: Limits | None = None,
) -> list[Consensus]:
    """Per job (task, the N programs, the teacher's parsed tests), the CodeT consensus."""
    probes = [probe_spec(task, tests) for task, _, tests in jobs]
    pairs = [
        (program, probe)
        for (_, programs, _), probe in zip(jobs, probes, strict=True)
        if probe is not None
        for program in programs
        if program
    ]
    judged = iter(executor.judge_many(pairs, limits=limits) if pairs else [])
    out = []
    for (_, programs, tests), probe in zip(jobs, probes, strict=True):
        if probe is None:
            out.append(Consensus(None, 0.0, 0, len(programs), 0, 0, "no_inputs"))
            continue
        vectors = [_vector(next(judged)) if program else None for program in programs]
        out.append(_decide(programs, vectors, probe, tests, min_agreement))
    return out


def _vector(judgement: object) -> tuple[str, ...] | None:
    """A program's outputs on every input; a crash on an input is its verdict there; None when
    it produced no output at all (it crashed everywhere, or the sandbox failed)."""
    from quality.execute import Judgement, Verdict

    assert isinstance(judgement, Judgement)
    if judgement.verdict == Verdict.sandbox_error or judgement.verdict == Verdict.syntax_error:
        return None
    outputs = judgement.outputs or (None,) * judgement.total
    vector = tuple(
        out if out is not None else f"{_CRASH}{verdict}"
        for out, verdict in zip(outputs, judgement.tests, strict=True)
    )
    return None if all(v.startswith(_CRASH) for v in vector) else vector


def _decide(
    programs: list[str | None],
    vectors: list[tuple[str, ...] | None],
    probe: TestSpec,
    tests: Sequence[Proposed],
    min_agreement: float,
) -> Consensus:
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, vector in enumerate(vectors):
        if vector is not None:
            groups.setdefault(vector, []).append(index)
    n, inputs = len(programs), len(probe.cases)
    if not groups:
        return Consensus(None, 0.0, 0, n, 0, inputs, "no_programs")
    expected = _expected(probe, tests)
    ranked = sorted(
        ((len(members) * _passed(v, expected), len(members), v) for v, members in groups.items()),
        key=lambda r: (r[0], r[1]),
        reverse=True,
    )
    score, size, vector = ranked[0]
    passed = _passed(vector, expected)
    support = size / n
    if len(ranked) > 1 and ranked[1][:2] == (score, size):
        return Consensus(None, support, size, n, passed, inputs, "tie")
    if support < min_agreement:
        return Consensus(None, support, size, n, passed, inputs, "low_agreement")
    program = programs[groups[vector][0]]
    return Consensus(program, support, size, n, passed, inputs)


def _expected(probe: TestSpec, tests: Sequence[Proposed]) -> list[tuple[int, Case]]:
    """(input index, the teacher's case) for each teacher test with an expected value."""
    index = {_key(c): i for i, c in enumerate(probe.cases)}
    return [
        (index[_key(case)], case)
        for test in tests
        if test.spec is not None and test.spec.judge == probe.judge
        for case in test.spec.cases
        if _key(case) in index
    ]


def _key(case: Case) -> str:
    return json.dumps(case.args if case.args is not None else case.input)


def _passed(vector: tuple[str, ...], expected: list[tuple[int, Case]]) -> int:
    """Teacher tests whose expected value the outputs match (the executor's own comparisons)."""
    from quality.execute import stdout_matches, values_match

    passed = 0
    for i, case in expected:
        got = vector[i]
        if got.startswith(_CRASH):
            continue
        if case.args is None:
            passed += stdout_matches(got, str(case.output))
            continue
        try:
            passed += values_match(json.loads(got), case.expected)
        except ValueError:
            continue
    return passed


def codet_rows(
    models: ModelSession,
    executor: Executor,
    todo: pl.DataFrame,
    *,
    samples: int,
    tests: int,
    temperature: float,
    max_tokens: int,
    seed: int,
    min_agreement: float,
) -> pl.DataFrame:
    """PROXY_ANSWERS rows (less proxy and model) for code seeds `todo` (seed_id, problem):
    `samples` teacher programs and one reply of `tests` tests each, put to the consensus."""
    from curate.teachability.attempts import Sampler, prompting
    from curate.teachability.code_tests import draw_tests, tests_prompting
    from quality.programs import extracted_programs

    problems = todo["problem"].to_list()
    tasks = [task_of(p, None) for p in problems]
    programs: list[list[str | None]] = [[None] * samples for _ in problems]
    for judge, template in (("call", "attempt_code.txt"), ("stdio", "attempt_program.txt")):
        items = [i for i, t in enumerate(tasks) if t.judge == judge]
        if not items:
            continue
        prompt = prompting("chat", temperature, max_tokens, seed, template)
        pairs = [(k, j) for k in range(len(items)) for j in range(samples)]
        drawn = Sampler(models, prompt).draw(
            [problems[i] for i in items], [None] * len(items), pairs
        )
        found = extracted_programs(drawn["response"].to_list())
        for k, j, program in zip(drawn["item"], drawn["sample"], found, strict=True):
            programs[items[k]][j] = program
    asked = draw_tests(
        models, problems, tasks, tests_prompting(tests, temperature, max_tokens, seed)
    )
    # at most twice the tests asked for: a runaway reply does not multiply the sandbox runs
    jobs = [(t, p, (a or [])[: 2 * tests]) for t, p, a in zip(tasks, programs, asked, strict=True)]
    decided = consensus(executor, jobs, min_agreement)
    return pl.DataFrame(
        {
            "seed_id": todo["seed_id"],
            "method": ["codet" if c.program else "unverifiable" for c in decided],
            "answer": [c.program for c in decided],
            "answer_type": ["code"] * len(decided),
            "agreement": [c.support for c in decided],
            "votes": [c.votes for c in decided],
            "samples": [c.samples for c in decided],
            "reason": [c.reason for c in decided],
        },
        schema_overrides={"answer": pl.String, "reason": pl.String},
    )
