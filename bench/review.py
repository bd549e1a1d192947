"""Review push and pull against a real local Label Studio, each against a plain SDK loop in the
same run: tasks/s both ways.

    .venv/bin/python bench/review.py                      # 20,000 tasks (a local server starts)
    .venv/bin/python bench/review.py --tasks 2000 --baseline-tasks 300
    .venv/bin/python bench/review.py --paths --tasks 2000     # each bulk read Label Studio offers

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

`--paths` times, on one annotated project, every bulk read of annotations Label Studio 1.23.2
has (export snapshots with and without the lean serialization options, the synchronous export,
Data Manager task pages of 1,000 with and without `include`) against the same plain loop: the
first full pull is bounded by the cheapest of them (each serializes every task in Python on the
server, a few milliseconds a task), which is why it stays a few times the loop, not ten.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import polars as pl

from quality.review.annotations import parse_export
from quality.review.connection import connect, download_export, labeling_config
from quality.review.context import gather
from quality.review.pull import EXPORT_OPTIONS, PullConfig, run_review_pull
from quality.review.push import PushConfig, choose, run_review_push
from store import Store
from store.tables import SEEDS, SELECTIONS, TRACES

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
    print(
        f"push ratio {ours / theirs:.1f}x (loop rate from {baseline_n} of the {n} tasks; the "
        f"whole loop would take ~{n / theirs:.0f} s)"
    )
    return tasks, config


def _annotated_project(client, title: str, tasks: list, config: str):  # noqa: ANN001, ANN202
    """A project holding `tasks`, each with one annotation, by bulk import (setup, untimed)."""
    project = client.projects.create(title=title, label_config=config)
    me = client.users.whoami().id
    for i in range(0, len(tasks), 5000):
        client.projects.import_tasks(
            id=project.id, request=_with_annotation(tasks[i : i + 5000], me)
        )
    return project


def _plain_loop(client, project_id: int, n: int, baseline_n: int) -> tuple[int, float]:  # noqa: ANN001
    """The plain SDK loop: `tasks.list` pages of 100 (the SDK's defaults: annotations included),
    on pages spread over the whole project (a page deep in a big project costs more than page 1).
    (tasks listed, seconds)"""
    pages = max(1, baseline_n // 100)
    picks = sorted({1 + k * (n // 100 - 1) // max(1, pages - 1) for k in range(pages)})

    def page_through() -> int:
        listed = [
            t
            for p in picks
            for t in client.tasks.list(project=project_id, page=p, page_size=100).items
        ]
        assert all(t.annotations for t in listed)
        return len(listed)

    return _timed(page_through)


def bench_pull(store: Store, client, stamp: int, tasks: list, config: str, baseline_n: int) -> None:  # noqa: ANN001
    n, title = len(tasks), f"bench-pull-{stamp}"
    project = _annotated_project(client, title, tasks, config)
    time.sleep(OVERLAP_S + 5)  # so the re-pull below does not re-read the setup's own minute
    pulled, seconds = _timed(run_review_pull, store, PullConfig(project=title, overlap_s=OVERLAP_S))
    assert pulled["new_reviews"] == n, pulled
    ours = _rate("pull: review pull", n, seconds)

    listed, loop_s = _plain_loop(client, project.id, n, baseline_n)
    theirs = _rate("pull: tasks.list", listed, loop_s)
    print(
        f"pull ratio {ours / theirs:.1f}x (loop rate from {listed} of the {n} tasks, pages spread "
        f"over the project; the whole loop would take ~{n / theirs:.0f} s)"
    )

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


ALL_ANNOTATIONS = {"usual": True, "ground_truth": True, "skipped": True}
LEAN = {"drafts": {"only_id": True}, "predictions": {"only_id": True},
        "annotations__completed_by": {"only_id": True}, "include_annotation_history": False,
        "interpolate_key_frames": False}  # fmt: skip
# the fields a pull reads, at both levels (Data Manager's `include` applies to nested annotations)
INCLUDE = "id,meta,annotations,result,completed_by,created_at,updated_at,ground_truth,was_cancelled"


def _read_paths(conn, project_id: int, n: int) -> dict:  # noqa: ANN001
    """Each bulk read of a project's annotations in Label Studio 1.23.2: name -> () -> tasks."""
    exports, tasks = conn.client.projects.exports, conn.client.tasks
    pages = range(1, -(-n // 1000) + 1)

    def snapshot(**options: dict) -> list:
        only = {"only_with_annotations": True}
        return json.loads(
            download_export(conn, project_id, 3600, task_filter_options=only, **options).raw
        )

    def data_manager(**params: str) -> list:
        return [
            {"id": t.id, "meta": t.meta, "annotations": t.annotations}
            for p in pages
            for t in tasks.list(
                project=project_id, page=p, page_size=1000, fields="all", **params
            ).items
        ]

    once = {"timeout": 3600, "max_retries": 0}
    return {
        "snapshot, pull's options": lambda: snapshot(**EXPORT_OPTIONS),
        "snapshot, lean options": lambda: snapshot(
            annotation_filter_options=ALL_ANNOTATIONS, serialization_options=LEAN
        ),
        "snapshot, defaults": lambda: snapshot(),
        "sync export (GET /export)": lambda: json.loads(
            b"".join(exports.download_sync(project_id, export_type="JSON", request_options=once))
        ),
        "tasks.list 1000/page, include": lambda: data_manager(include=INCLUDE),
        "tasks.list 1000/page": lambda: data_manager(),
    }


def bench_paths(store: Store, conn, stamp: int, tasks: list, baseline_n: int) -> None:  # noqa: ANN001
    """Every bulk read against the plain loop on one project (each must carry what a pull
    reads), then the whole `review pull` stage on it."""
    n, title = len(tasks), f"bench-paths-{stamp}"
    project = _annotated_project(conn.client, title, tasks, labeling_config())
    listed, loop_s = _plain_loop(conn.client, project.id, n, baseline_n)
    theirs = _rate("plain loop: tasks.list", listed, loop_s)
    for name, read in _read_paths(conn, project.id, n).items():
        got, seconds = _timed(read)
        parsed = parse_export(got, {}, conn.url, "bench", project.id)
        assert len(got) == n and len(parsed.rows) == n and not parsed.rejects, (name, len(got))
        print(f"  -> {_rate(name, n, seconds) / theirs:.1f}x the plain loop")
    pulled, seconds = _timed(run_review_pull, store, PullConfig(project=title))
    assert pulled["new_reviews"] == n, pulled
    print(f"  -> {_rate('review pull (the stage)', n, seconds) / theirs:.1f}x the plain loop")


def bench(n: int, baseline_n: int, paths: bool = False) -> None:
    conn = connect()
    store = Store.open(Path(tempfile.mkdtemp()) / "store")
    fill(store, n)
    print(f"{n} tasks (baselines on {baseline_n}), Label Studio at {conn.url}")
    stamp = int(time.time())
    if paths:
        at = store.snapshot()
        tasks = gather(store, at, choose(store, at, PushConfig(project="x", selection="all")), None)
        bench_paths(store, conn, stamp, tasks, baseline_n)
        store.close()
        return
    tasks, config = bench_push(store, conn.client, stamp, n, baseline_n)
    bench_pull(store, conn.client, stamp, tasks, config, baseline_n)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--baseline-tasks", type=int, default=1_000)
    parser.add_argument("--paths", action="store_true", help="time each bulk read path instead")
    args = parser.parse_args()
    if not os.environ.get("LABEL_STUDIO_URL"):
        from quality.review.testing import shared_server

        server = shared_server()
        os.environ["LABEL_STUDIO_URL"], os.environ["LABEL_STUDIO_API_KEY"] = (
            server.url,
            server.api_key,
        )
    bench(args.tasks, min(args.baseline_tasks, args.tasks), args.paths)


if __name__ == "__main__":
    main()
