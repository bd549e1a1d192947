"""Code seeds' reference programs run against their own tests before a seed is stored.

A reference must pass every test in each of `runs` separate runs: a solution that passes only
sometimes (a timing-dependent or random one) would make its seed's pass rates and traces lie.
The runs bypass the verdict cache (a cached verdict is one run, not three). A sandbox error is
the machine's fault, not the seed's: it fails the ingest instead of rejecting the seed.
"""

from __future__ import annotations

import polars as pl

from curate.seeds.errors import IngestError


def check_references(
    frame: pl.DataFrame, runs: int, test_wall_s: float | None = None
) -> list[str | None]:
    """Per row of `frame` (columns _program, _tests), why its reference fails (None: it passed
    `runs` of `runs`, or the row has no reference). A reference that failed is not run again;
    `test_wall_s` caps each test's wall time (default: the executor's)."""
    rows = [
        (index, program, tests)
        for index, (program, tests) in enumerate(frame.select("_program", "_tests").iter_rows())
        if program is not None and tests is not None
    ]
    reasons: list[str | None] = [None] * frame.height
    if runs == 0 or not rows:
        return reasons
    from quality.execute import Executor, Limits, TestSpec, Verdict

    specs = {index: TestSpec.from_json(tests) for index, _, tests in rows}
    limits = Limits(test_wall_s=test_wall_s) if test_wall_s else None
    with Executor(limits) as executor:  # no cache_dir: each run executes
        for run in range(1, runs + 1):
            todo = [(index, program) for index, program, _ in rows if reasons[index] is None]
            pairs = [(program, specs[index]) for index, program in todo]
            judged = executor.judge_many(pairs, progress=len(pairs) > 50) if pairs else []
            for (index, _), judgement in zip(todo, judged, strict=True):
                if judgement.verdict == Verdict.sandbox_error:
                    raise IngestError(f"the sandbox failed running a reference: {judgement.detail}")
                if judgement.verdict != Verdict.accepted:
                    reasons[index] = (
                        f"fails its tests in run {run} of {runs}: {judgement.verdict} "
                        f"({judgement.passed}/{judgement.total} tests passed)"
                        + (f": {_short(judgement.detail)}" if judgement.detail else "")
                    )
    return reasons


def _short(detail: str) -> str:
    line = detail.strip().splitlines()[-1] if detail.strip() else ""
    return line[:200]
