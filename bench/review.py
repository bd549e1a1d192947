"""Review push and pull against a real local Label Studio, each against a plain SDK loop in the
same run: tasks/s both ways.

    .venv/bin/python bench/review.py                      # 20,000 tasks (a local server starts)
    .venv/bin/python bench/review.py --tasks 2000 --baseline-tasks 300

Push: `run_review_push` (choose from the store, build each task's screen, `import_tasks` in
batches of 5,000 with the task ids back, record them in `review_tasks`) against one
`tasks.create` per task with the same payloads. Pull: `run_review_pull` (one export snapshot,
parse, one store run) of a project whose every task holds one annotation, against paging through
`tasks.list` (100 a page, annotations included) of the same project, on pages spread over the
whole project (a page deep in a large project costs more than the first). The pull project is filled
by one bulk import with annotations (setup, not timed). Then 1% of the tasks get a new
annotation and a re-pull (only tasks updated since the last export) is timed against what the
loop would need: paging every task to find them. The baselines run on `--baseline-tasks`
tasks (default 1,000; a rate does not need all 20,000 and the create loop alone would take many
minutes); the rates are per task either way. Uses LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY when
set, else starts the shared local server (quality.review.testing).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import polars as pl

from curate.seeds.tables import SEEDS
from curate.teachability.tables import SELECTIONS
from quality.review.connection import connect
from quality.review.context import gather
from quality.review.pull import PullConfig, run_review_pull
from quality.review.push import PushConfig, choose, run_review_push
from store import Store
from synth.tables import TRACES

WORDS = ["the", "of", "and", "to", "in", "is", "that", "it", "for", "as", "with", "was", "on"]


def _text(i: int, words: int) -> str:
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(words))


def fill(store: Store, n: int) -> None:
    """n seeds (a ~60-word problem) with one trace each (~300 words of reasoning), and a
    selection 'all' holding them."""
    ids = [f"{i:032x}" for i in range(n)]
    seeds = pl.DataFrame({
        "seed_id": ids, "source": "bench", "domain": "math",
        "problem": [f"Problem {i}: {_text(i, 60)}?" for i in range(n)],
        "answer": [str(i) for i in range(n)], "answer_type": "number", "level": 1,
    })  # fmt: skip
    traces = pl.DataFrame({
        "trace_id": [f"t{i:031x}" for i in range(n)], "item_id": ids, "item_table": "seeds",
        "teacher_model": "bench-teacher", "sample_index": 0,
        "reasoning": [_text(i, 300) for i in range(n)],
        "answer_text": [f"The answer is \\boxed{{{i}}}." for i in range(n)],
        "extracted_answer": [str(i) for i in range(n)], "correct": True, "finish_reason": "stop",
    })  # fmt: skip
    with store.run("bench.fill") as run:
        run.insert(SEEDS, seeds)
        run.insert(TRACES, traces)
        run.insert(SELECTIONS, pl.DataFrame({"name": "all", "seed_id": ids, "snapshot_id": 0}))


OVERLAP_S = 30  # PullConfig.overlap_s, shortened from 300 s so the bench need not wait 5 minutes
VERDICT = [{"from_name": "verdict", "to_name": "question", "type": "choices",
            "value": {"choices": ["accept"]}}]  # fmt: skip


def _with_annotation(tasks: list[dict], user_id: int) -> list[dict]:
    return [{**t, "annotations": [{"result": VERDICT, "completed_by": user_id}]} for t in tasks]


def _rate(label: str, n: int, seconds: float) -> float:
    print(f"{label:<22} {n / seconds:9.1f} tasks/s  ({n} tasks in {seconds:.1f} s)")
    return n / seconds


def _timed(call, *args, **kwargs):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    out = call(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_push(store: Store, client, stamp: int, n: int, baseline_n: int) -> tuple[list, str]:  # noqa: ANN001
    counts, seconds = _timed(
        run_review_push, store, PushConfig(project=f"bench-push-{stamp}", selection="all")
    )
    assert counts["pushed"] == n, counts
    ours = _rate("push: review push", n, seconds)
    at = store.snapshot()
    tasks = gather(store, at, choose(store, at, PushConfig(project="x", selection="all")), None)
    config = client.projects.get(counts["project_id"]).label_config
    loop = client.projects.create(title=f"bench-loop-{stamp}", label_config=config)

    def create_each() -> None:
        for task in tasks[:baseline_n]:
            client.tasks.create(project=loop.id, data=task["data"], meta=task["meta"])

    theirs = _rate("push: tasks.create", baseline_n, _timed(create_each)[1])
    print(f"push ratio {ours / theirs:.1f}x")
    return tasks, config


def bench_pull(store: Store, client, stamp: int, tasks: list, config: str, baseline_n: int) -> None:  # noqa: ANN001
    n, title = len(tasks), f"bench-pull-{stamp}"
    project = client.projects.create(title=title, label_config=config)
    me = client.users.whoami().id
    for i in range(0, n, 5000):  # setup, untimed: every task with one annotation
        client.projects.import_tasks(
            id=project.id, request=_with_annotation(tasks[i : i + 5000], me)
        )
    time.sleep(OVERLAP_S + 5)  # so the re-pull below does not re-read the setup's own minute
    pulled, seconds = _timed(run_review_pull, store, PullConfig(project=title, overlap_s=OVERLAP_S))
    assert pulled["new_reviews"] == n, pulled
    ours = _rate("pull: review pull", n, seconds)

    # pages spread over the whole project: a page deep in a big project costs more than page 1
    pages = max(1, baseline_n // 100)
    picks = sorted({1 + k * (n // 100 - 1) // max(1, pages - 1) for k in range(pages)})

    def page_through() -> int:
        listed = [
            t
            for p in picks
            for t in client.tasks.list(project=project.id, page=p, page_size=100).items
        ]
        assert all(t.annotations for t in listed)
        return len(listed)

    listed, loop_s = _timed(page_through)
    theirs = _rate("pull: tasks.list", listed, loop_s)
    print(f"pull ratio {ours / theirs:.1f}x")

    fresh = max(1, n // 100)  # a week later, 1% of the tasks have a new annotation
    for task in client.tasks.list(project=project.id, page=1, page_size=fresh).items:
        client.annotations.create(id=task.id, result=VERDICT)
    again, repull_s = _timed(run_review_pull, store, PullConfig(project=title, overlap_s=OVERLAP_S))
    assert again["new_reviews"] == fresh, again
    loop_repull_s = n / theirs  # the loop pages every task to find the new annotations
    print(
        f"re-pull after {fresh} new annotations: review pull {repull_s:.1f} s; tasks.list over "
        f"all {n} tasks ~{loop_repull_s:.0f} s at its rate above; "
        f"ratio {loop_repull_s / repull_s:.1f}x"
    )


def bench(n: int, baseline_n: int) -> None:
    conn = connect()
    store = Store.open(Path(tempfile.mkdtemp()) / "store")
    fill(store, n)
    print(f"{n} tasks (baselines on {baseline_n}), Label Studio at {conn.url}")
    stamp = int(time.time())
    tasks, config = bench_push(store, conn.client, stamp, n, baseline_n)
    bench_pull(store, conn.client, stamp, tasks, config, baseline_n)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--baseline-tasks", type=int, default=1_000)
    args = parser.parse_args()
    if not os.environ.get("LABEL_STUDIO_URL"):
        from quality.review.testing import shared_server

        server = shared_server()
        os.environ["LABEL_STUDIO_URL"], os.environ["LABEL_STUDIO_API_KEY"] = (
            server.url,
            server.api_key,
        )
    bench(args.tasks, min(args.baseline_tasks, args.tasks))


if __name__ == "__main__":
    main()
