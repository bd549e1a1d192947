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
