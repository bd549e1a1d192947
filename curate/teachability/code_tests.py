"""Teacher-written tests for code seeds, kept only when they tell a right program from wrong ones.

A code seed without tests (ingested without them) cannot be verified. The teacher is asked for
tests (`prompts/write_tests.txt`): `assert f(...) == ...` lines for a function task, `Input:` /
`Output:` blocks for a program that reads stdin. A test is kept only when the checking program
(the seed's reference, else its CodeT proxy) passes it AND wrong programs fail it: an empty body
(returns None, prints nothing) and at least one mutant of the checking program (`mutants`: a
flipped comparison, a swapped operator, an off-by-one constant, from Python's `ast`). A test that
every program passes, such as `assert True` or `assert f(0) == f(0)`, is dropped.

Every program runs in the sandbox (quality.execute.Executor, the store's verdict cache). Each
dropped test keeps its reason (DROP_REASONS).
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from curate.teachability.attempts import Prompting
    from quality.execute import Executor, Judgement, Limits, TestSpec
    from synth.session import ModelSession

DROP_REASONS = (
    "does_not_parse",  # not an assert line / Input-Output block Python can read
    "duplicate",  # the same test as an earlier one
    "reference_fails",  # the checking program fails it: the test (or its expected value) is wrong
    "timeout",  # the checking program ran out of time on it
    "not_discriminating",  # the empty body or every mutant passes it too
    "sandbox_error",  # the sandbox failed: unknown, never kept
    "extra",  # past twice the tests asked for: not run (a runaway reply costs no sandbox time)
)
_ASSERT = re.compile(r"^\s*(assert\b.*)$", re.M)
_BLOCK = re.compile(r"^\s*Input:\s*$", re.M | re.I)
_OUTPUT = re.compile(r"^\s*Output:\s*$", re.M | re.I)
_FENCE = re.compile(r"^\s*```\w*\s*$", re.M)
_DEF = re.compile(r"\bdef\s+([A-Za-z_]\w*)\s*\(")
_NAMED = re.compile(r"function `([A-Za-z_]\w*)\s*[(`]")
_STDIN = re.compile(r"\binput\s*\(|\bsys\.stdin\b")


@dataclass(frozen=True)
class Task:
    """What a code seed asks for: a function (`call`, named `entry_point`) or a program that
    reads stdin and prints (`stdio`)."""

    judge: Literal["call", "stdio"]
    entry_point: str | None = None

    @property
    def empty_program(self) -> str:
        """The wrong program every kept test must fail: no work at all."""
        if self.judge == "call":
            return f"def {self.entry_point}(*args, **kwargs):\n    return None\n"
        return "pass\n"


def task_of(problem: str, program: str | None) -> Task:
    """A function task when the program (else the problem's starter code or stated name)
    defines a function and reads no stdin; otherwise a stdin/stdout program."""
    if program:
        if _STDIN.search(program):
            return Task("stdio")
        name = _first_function(program)
        if name:
            return Task("call", name)
    named = _DEF.search(problem) or _NAMED.search(problem)
    return Task("call", named[1]) if named else Task("stdio")


def _first_function(program: str) -> str | None:
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        found = _DEF.search(program)
        return found[1] if found else None
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return names[-1] if names else None  # helpers come first; the answer is defined last


def tests_prompting(count: int, temperature: float, max_tokens: int, seed: int) -> Prompting:
    """The chat prompt asking for `count` tests; `tests_request` fills in the problem and the
    form the tests take."""
    from curate.teachability.attempts import prompting

    found = prompting("chat", temperature, max_tokens, seed, "write_tests.txt")
    found.template = found.template.replace("{count}", str(count))
    return found


def tests_request(problem: str, task: Task) -> str:
    """The problem as the test-writing prompt states it, with the form its tests must take."""
    if task.judge == "call":
        form = (
            f"Reply with one line per test, in this form:\n"
            f"assert {task.entry_point}(<arguments>) == <expected value>"
        )
    else:
        form = (
            "The program reads standard input and prints its answer. Reply with each test in "
            "this form:\nInput:\n<the lines given on standard input>\nOutput:\n<the exact lines "
            "printed>"
        )
    return f"{form}\n\nProblem:\n{problem}"


@dataclass(frozen=True)
class Proposed:
    """One test as the teacher wrote it, and as a one-test spec (None: it does not parse)."""

    text: str
    spec: TestSpec | None


def parse_tests(reply: str, task: Task) -> list[Proposed]:
    """The tests in a teacher's reply: each `assert` line (a function task), or each `Input:` /
    `Output:` block (a program task), in order."""
    text = _FENCE.sub("", reply or "")
    if task.judge == "call":
        return [_parse_assert(m[1].strip(), task) for m in _ASSERT.finditer(text)]
    starts = [m.start() for m in _BLOCK.finditer(text)]
    blocks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=False)]
    return [_parse_block(block) for block in blocks]


def _parse_assert(line: str, task: Task) -> Proposed:
    from quality.execute import Case, SpecError, TestSpec

    try:
        tree = ast.parse(line)
    except (SyntaxError, ValueError):
        return Proposed(line, None)
    call = _literal_call(tree.body[0], task.entry_point)
    if call is not None:  # `assert f(1, 2) == 3`: a call case, whose inputs CodeT can reuse
        args, expected = call
        case = Case(args=args, expected=expected)
        return Proposed(line, TestSpec("call", task.entry_point, (case,)))
    try:
        return Proposed(line, TestSpec("assert", None, code=line + "\n"))
    except SpecError:
        return Proposed(line, None)


def _literal_call(node: ast.stmt, name: str | None) -> tuple[list[object], object] | None:
    """(args, expected) of `assert name(literals...) == literal` with JSON values, else None."""
    if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
        return None
    test = node.test
    call = test.left
    if not (
        len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == name
        and not call.keywords
    ):
        return None
    try:
        args = [ast.literal_eval(a) for a in call.args]
        expected = ast.literal_eval(test.comparators[0])
        json.dumps([args, expected], allow_nan=False)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None
    if any(isinstance(v, tuple | set | frozenset | bytes | complex) for v in [*args, expected]):
        return None  # JSON would change its type: keep it as an assert
    return list(args), expected


def _parse_block(block: str) -> Proposed:
    from quality.execute import Case, TestSpec

    body = _BLOCK.sub("", block, count=1)
    parts = _OUTPUT.split(body, maxsplit=1)
    text = block.strip()
    if len(parts) != 2 or not parts[0].strip():
        return Proposed(text, None)
    stdin = parts[0].strip("\n") + "\n"
    stdout = parts[1].strip("\n")
    return Proposed(text, TestSpec("stdio", None, (Case(input=stdin, output=stdout),)))


# a comparison flipped (< to >), not moved by one (< to <=): `x <= lo` in a clamp is the same
# program as `x < lo`, and an equivalent mutant no test can catch
_COMPARE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}  # fmt: skip
_BINARY: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
}  # fmt: skip


def mutants(program: str, limit: int = 3) -> list[str]:
    """Up to `limit` single-point mutants of `program`, each a different program, in source
    order: a comparison flipped (< to >, == to !=), an arithmetic operator swapped (+ to -), an
    integer constant off by one, `and` to `or`."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return []
    original = ast.unparse(tree)
    sites = sum(1 for node in ast.walk(tree) for _ in _mutations(node))
    out: list[str] = []
    for site in range(sites):
        if len(out) >= limit:
            break
        mutated = copy.deepcopy(tree)
        _mutate(mutated, site)
        text = ast.unparse(mutated)
        if text != original and text not in out:
            out.append(text + "\n")
    return out


def _mutations(node: ast.AST) -> list[int]:
    """The mutation points of one node (one per comparison operator, else one or none)."""
    if isinstance(node, ast.Compare):
        return [i for i, op in enumerate(node.ops) if type(op) in _COMPARE]
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _BINARY:
        return [0]
    if isinstance(node, ast.BoolOp):
        return [0]
    is_int = isinstance(node, ast.Constant) and type(node.value) is int
    return [0] if is_int else []


def _mutate(tree: ast.AST, site: int) -> None:
    seen = 0
    for node in ast.walk(tree):
        for point in _mutations(node):
            if seen == site:
                _apply(node, point)
                return
            seen += 1


def _apply(node: ast.AST, point: int) -> None:
    if isinstance(node, ast.Compare):
        node.ops[point] = _COMPARE[type(node.ops[point])]()
    elif isinstance(node, ast.BinOp | ast.AugAssign):
        node.op = _BINARY[type(node.op)]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        node.value = node.value + 1


@dataclass
class Checked:
    """The outcome of one seed's proposed tests: the kept ones as one spec, and every drop."""

    proposed: int
    kept: list[Proposed] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (test text, reason)
    mutants: int = 0

    def spec(self, task: Task) -> TestSpec | None:
        """The kept tests as one spec: call or stdio cases when every test is one, else the
        assert lines together."""
        from quality.execute import TestSpec

        specs = [p.spec for p in self.kept if p.spec is not None]
        if not specs:
            return None
        if all(s.judge == specs[0].judge != "assert" for s in specs):
            cases = tuple(c for s in specs for c in s.cases)
            return TestSpec(specs[0].judge, specs[0].entry_point, cases)
        return TestSpec("assert", None, code="\n".join(p.text for p in self.kept) + "\n")

    def dropped_json(self) -> str:
        return json.dumps(
            [{"test": t[:300], "reason": r} for t, r in self.dropped], ensure_ascii=False
        )


def check_tests(
    executor: Executor,
    jobs: Sequence[tuple[str, Task, list[Proposed]]],
    mutant_limit: int = 3,
    test_wall_s: float = 2.0,
    max_tests: int | None = None,
) -> list[Checked]:
    """Per job (checking program, task, proposed tests), which tests are kept and why the others
    were dropped. The checking program runs first; the wrong programs only on what it passed."""
    from quality.execute import Limits, Verdict

    right = Limits(test_wall_s=test_wall_s)
    wrong = Limits(test_wall_s=test_wall_s, tle_reruns=0)  # a wrong program's time-out fails it
    results: list[Checked] = []
    first: list[tuple[int, Proposed]] = []
    for index, (_, _, proposed) in enumerate(jobs):
        checked = Checked(len(proposed))
        seen: set[str] = set()
        for number, test in enumerate(proposed):
            if max_tests is not None and number >= max_tests:
                checked.dropped.append((test.text, "extra"))
            elif test.spec is None:
                checked.dropped.append((test.text, "does_not_parse"))
            elif test.spec.to_json() in seen:
                checked.dropped.append((test.text, "duplicate"))
            else:
                seen.add(test.spec.to_json())
                first.append((index, test))
        results.append(checked)
    judged = _judge(executor, [(jobs[i][0], t) for i, t in first], right)
    second: list[tuple[int, Proposed]] = []
    for (index, test), verdict in zip(first, judged, strict=True):
        reason = _reference_reason(verdict)
        if reason:
            results[index].dropped.append((test.text, reason))
        else:
            second.append((index, test))
    wrongs = {
        i: [job[1].empty_program, *mutants(job[0], mutant_limit)] for i, job in enumerate(jobs)
    }
    for index, programs in wrongs.items():
        results[index].mutants = len(programs) - 1
    pairs = [(p, t) for i, t in second for p in wrongs[i]]
    verdicts = iter(_judge(executor, pairs, wrong))
    for index, test in second:
        got = [next(verdicts) for _ in wrongs[index]]
        if any(j.verdict == Verdict.sandbox_error for j in got):
            results[index].dropped.append((test.text, "sandbox_error"))
            continue
        caught = [not j.accepted for j in got]
        discriminating = caught[0] and (len(caught) == 1 or any(caught[1:]))
        if discriminating:
            results[index].kept.append(test)
        else:
            results[index].dropped.append((test.text, "not_discriminating"))
    return results


def _judge(
    executor: Executor, pairs: list[tuple[str, Proposed]], limits: Limits
) -> list[Judgement]:
    specs = [(program, test.spec) for program, test in pairs if test.spec is not None]
    return executor.judge_many(specs, limits=limits) if specs else []


def _reference_reason(judgement: Judgement) -> str | None:
    from quality.execute import Verdict

    if judgement.verdict == Verdict.accepted:
        return None
    if judgement.verdict == Verdict.sandbox_error:
        return "sandbox_error"
    return "timeout" if judgement.verdict == Verdict.time_limit else "reference_fails"


def draw_tests(
    models: ModelSession, problems: list[str], tasks: list[Task], prompt: Prompting
) -> list[list[Proposed] | None]:
    """The teacher's parsed tests per problem (one reply each, through the request cache);
    None where the reply failed."""
    from curate.teachability.attempts import Sampler

    texts = [tests_request(p, t) for p, t in zip(problems, tasks, strict=True)]
    drawn = Sampler(models, prompt).draw(
        texts, [None] * len(texts), [(i, 0) for i in range(len(texts))]
    )
    replies = dict(zip(drawn["item"], drawn["response"], strict=True))
    return [
        parse_tests(replies[i] or "", task) if i in replies else None
        for i, task in enumerate(tasks)
    ]
