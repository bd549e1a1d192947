"""Checking replies to code items: the program a reply ends in, judged against the item's tests.

What `check_batch` is for math answers, `ProgramChecker.check` is for code: the stages that
grade weak-model attempts (difficulty) and teacher traces use it for items whose answer_type is
`code`. Every program runs inside the sandbox (quality.execute.Executor); verdicts are cached
in the store's folder by (program, tests, limits), so a re-run executes nothing.

    with ProgramChecker.for_store(store) as checker:
        verdicts = checker.check(replies, tests_json)   # list[Judgement | None]
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quality.execute import Executor, Judgement

CODE = "code"  # the answer_type of code items
CACHE_FOLDER = "execution"
FENCE = "```"


def store_executor(store: Any, workers: int | None = None) -> Executor:
    """An executor whose verdicts are cached in the store's folder (CACHE_FOLDER), shared by
    every stage that runs programs: a re-run executes nothing it judged before."""
    from quality.execute import Executor

    return Executor(workers=workers, cache_dir=Path(store.local_dir) / CACHE_FOLDER)


class ProgramChecker:
    def __init__(self, cache_dir: Path | None = None, workers: int | None = None) -> None:
        self._cache_dir = cache_dir
        self._workers = workers
        self._executor: Executor | None = None

    @classmethod
    def for_store(cls, store: Any, workers: int | None = None) -> ProgramChecker:
        return cls(Path(store.local_dir) / CACHE_FOLDER, workers)

    def __enter__(self) -> ProgramChecker:
        from quality.execute import Executor

        self._executor = Executor(workers=self._workers, cache_dir=self._cache_dir).__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.__exit__(kind, exc, tb)
            self._executor = None

    def check(self, replies: list[str | None], tests: list[str | None]) -> list[Judgement | None]:
        """The judgement of each reply's program (`extracted_programs`) against its tests
        (TestSpec JSON), through quality.execute.grading.check_replies; a reply without a
        program is a syntax error there. None where the item has no tests."""
        from quality.execute.grading import check_replies

        assert self._executor is not None, "use ProgramChecker inside a with block"
        programs = extracted_programs(replies)
        todo = [i for i, t in enumerate(tests) if t]
        # a program found only by the lone-fence rule goes in as a fenced block
        fenced = [f"{FENCE}python\n{programs[i]}\n{FENCE}" if programs[i] else "" for i in todo]
        judged = check_replies(self._executor, fenced, [tests[i] or "" for i in todo])
        out: list[Judgement | None] = [None] * len(replies)
        for i, judgement in zip(todo, judged, strict=True):
            out[i] = judgement
        return out


def extracted_programs(replies: list[str | None]) -> list[str | None]:
    """The program of each reply: its last fenced block (quality.execute.extract_program), or,
    in a reply with one lone closing fence, the text before it. Small chat models often start
    straight with the code and only close the fence ("def f(x):\n    return x\n```"); judging
    that as no program would measure their markdown, not their code."""
    from quality.execute import extract_program
    from store.tables.traces import THINK_CLOSE

    out: list[str | None] = []
    for reply in replies:
        found = extract_program(reply) if reply else None
        if found is None and reply:
            answer = reply.rsplit(THINK_CLOSE, 1)[-1]
            head, fence, tail = answer.partition(FENCE)
            if fence and FENCE not in tail and head.strip():
                found = head
        out.append(found)
    return out


def describe_tests(tests_json: str, shown: int = 5) -> str:
    """The tests of a code item as a reviewer reads them: the judge and the first `shown` cases
    (`f(1, 2) == 3`, `stdin ... -> stdout ...`) or the assert-style test code."""
    import json

    from quality.execute import TestSpec

    spec = TestSpec.from_json(tests_json)
    if spec.judge == "assert":
        return f"assert-style tests (exit status), checking {spec.entry_point}:\n{spec.code}"
    lines = []
    for case in spec.cases[:shown]:
        if spec.judge == "call":
            args = ", ".join(json.dumps(a) for a in case.args or ())
            lines.append(f"{spec.entry_point}({args}) == {json.dumps(case.expected)}")
        else:
            lines.append(f"stdin {case.input!r} -> stdout {case.output!r}")
    more = f"\n(+{len(spec.cases) - shown} more)" if len(spec.cases) > shown else ""
    kind = {"call": "call-based", "stdio": "stdin/stdout"}[spec.judge]
    return f"{len(spec.cases)} {kind} tests:\n" + "\n".join(lines) + more


def describe_judgement(judgement: Judgement) -> str:
    """Per-test verdicts of one program, e.g. `passed 2/3: 1 accepted, 2 accepted, 3
    wrong_answer (sandbox: namespaces)`."""
    tests = ", ".join(f"{i} {v}" for i, v in enumerate(judgement.tests, 1))
    detail = f"\n{judgement.detail}" if judgement.detail else ""
    return (
        f"passed {judgement.passed}/{judgement.total}: {tests} "
        f"(sandbox: {judgement.isolation}){detail}"
    )
