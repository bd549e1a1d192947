"""Human review against a real Label Studio (one server per test session, marked `server`)."""

from __future__ import annotations

import json
from pathlib import Path

import export_data as data  # tests/export_data.py: tests/ is on sys.path (conftest)
import polars as pl
import pytest
from label_studio_sdk import LabelStudio

from curate.export.stage import ExportConfig, run_export
from curate.mixtures.build import MixBuildConfig, run_mix_build
from quality.review.connection import ReviewServerError
from quality.review.devserver import add_user, free_port
from quality.review.pull import PullConfig, run_review_pull
from quality.review.push import PushConfig, run_review_push
from quality.review.report import plot_report, review_report
from quality.review.resolve import resolved
from store import Store
from store.tables import CONTAMINATION

pytestmark = pytest.mark.server
REPO = Path(__file__).resolve().parents[2]
BANDS = ["teachable", "too_hard", "too_easy"]


def _result(verdict: str, answer: str | None = None, rating: int | None = None) -> list[dict]:
    result = [
        {
            "from_name": "verdict",
            "to_name": "question",
            "type": "choices",
            "value": {"choices": [verdict]},
        }
    ]
    if answer is not None:
        result.append(
            {
                "from_name": "corrected_answer",
                "to_name": "question",
                "type": "textarea",
                "value": {"text": [answer]},
            }
        )
    if rating is not None:
        result.append(
            {
                "from_name": "rating",
                "to_name": "question",
                "type": "rating",
                "value": {"rating": rating},
            }
        )
    return result


def _tasks(store: Store, project_id: int) -> pl.DataFrame:
    return store.sql(
        "SELECT task_id, item_id FROM review_tasks WHERE project_id = ? ORDER BY task_id",
        [project_id],
    )


@pytest.fixture
def second_user(label_studio) -> LabelStudio:
    """A second annotator, signed up through the organization's invite link."""
    email = f"reviewer-{free_port()}@teachable.test"
    token = add_user(label_studio.url, label_studio.api_key, email, "second-user-pass-1")
    return LabelStudio(base_url=label_studio.url, api_key=token)


# (verdict of annotator A, of B (None: B skips the item)) for the 20 pushed seeds, in task order
PLAN = (
    [("accept", "accept")] * 10
    + [("reject", "reject")] * 3  # 10-12: rejected
    + [("reject", "accept")]  # 13: a tie -> reject
    + [("fix:999", "fix:999")] * 2  # 14-15: fixed to 999
    + [("fix:7", "accept")]  # 16: a tie -> reject
    + [("accept", None)] * 3  # 17-19: one annotator
)


def _annotate(client: LabelStudio, task_id: int, plan: str) -> int:
    verdict, _, answer = plan.partition(":")
    return int(client.annotations.create(id=task_id, result=_result(verdict, answer or None, 4)).id)


def test_round_trip_two_annotators(store: Store, ls_env, second_user, tmp_path: Path) -> None:
    data.fill_store(store, marks=False)
    admin = LabelStudio(base_url=ls_env.url, api_key=ls_env.api_key)
    counts = run_review_push(
        store, PushConfig(project="round-trip", band=BANDS, sample=20, annotators=2)
    )
    assert counts["pushed"] == 20 and counts["chosen"] == 20
    tasks = _tasks(store, counts["project_id"])
    assert tasks.height == 20 and tasks["item_id"].n_unique() == 20
    first_ann = {}
    for (task_id, item_id), (a, b) in zip(tasks.iter_rows(), PLAN, strict=True):
        first_ann[item_id] = _annotate(admin, task_id, a)
        if b is not None:
            _annotate(second_user, task_id, b)
    assert run_review_pull(store, PullConfig(project="round-trip"))["new_reviews"] == 37

    reviews = store.table("reviews")
    assert reviews.height == 37 and set(reviews["annotator"]) == {
        ls_env.email,
        second_user.users.whoami().email,
    }
    items = tasks["item_id"].to_list()
    expected = set()
    for item, (a, b) in zip(items, PLAN, strict=True):
        for who, plan in ((ls_env.email, a), (second_user.users.whoami().email, b)):
            if plan is not None:
                verdict, _, answer = plan.partition(":")
                expected.add((item, who, verdict, answer or None))
    got = set(reviews.select("item_id", "annotator", "verdict", "corrected_answer").iter_rows())
    assert got == expected
    assert (reviews["rating"] == 4).all() and (reviews["item_table"] == "seeds").all()

    verdicts = dict(resolved(store).select("item_id", "verdict").iter_rows())
    rejected = {items[i] for i in (10, 11, 12, 13, 16)}
    assert {i for i, v in verdicts.items() if v == "reject"} == rejected
    assert {i for i, v in verdicts.items() if v == "fix"} == {items[14], items[15]}

    recipe = data.write_recipe(tmp_path / "all.yaml", data.ALL_RECIPE)
    run_mix_build(store, MixBuildConfig(recipe=str(recipe)))
    mixed = store.sql("SELECT seed_id, item_table, item_id FROM mixture_items")
    assert mixed.height > 0 and not set(mixed["seed_id"]) & rejected
    run_export(
        store,
        ExportConfig(
            mixture="everything", out=str(tmp_path / "exp"), format="jsonl", val_fraction=0
        ),
    )
    rows = pl.read_ndjson(tmp_path / "exp" / "train.jsonl").join(
        store.sql("SELECT trace_id AS id, item_table FROM mixture_items"), on="id"
    )
    fixed = pl.col("seed_id").is_in([items[14], items[15]]) & (pl.col("item_table") == "seeds")
    assert rows.filter(fixed).height > 0 and (rows.filter(fixed)["answer"] == "999").all()
    assert not (rows.filter(~fixed)["answer"] == "999").any()
    card = (tmp_path / "exp" / "README.md").read_text()
    assert "## Human review" in card and "| 999 |" in card and ls_env.email in card

    # re-pulls export only the tasks updated since the last export began
    quick = PullConfig(project="round-trip", overlap_s=0)
    assert run_review_pull(store, quick)["new_reviews"] == 0
    edited = first_ann[items[0]]
    admin.annotations.update(id=edited, result=_result("reject"))
    again = run_review_pull(store, quick)
    assert again["new_reviews"] == 1 and again["tasks"] == 1
    assert run_review_pull(store, PullConfig(project="round-trip", full=True))["tasks"] == 20
    latest = store.sql(
        "SELECT annotation_id, verdict FROM reviews ORDER BY updated_at DESC LIMIT 1"
    )
    assert latest.row(0) == (edited, "reject") and store.table("reviews").height == 38
    assert (
        dict(resolved(store).select("item_id", "verdict").iter_rows())[items[0]] == "reject"
    )  # a tie now

    report = review_report(store, project="round-trip")
    pair = report.pairs.row(0, named=True)
    assert pair["items"] == 17 and pair["agreement"] == pytest.approx(14 / 17)
    assert report.annotators["reviews"].sum() == 37
    assert plot_report(report, tmp_path / "review.png").stat().st_size > 0


def test_push_is_idempotent_and_reconciles(store: Store, ls_env) -> None:
    data.fill_store(store, marks=False)
    config = PushConfig(project="idempotent", selection="picked")
    assert run_review_push(store, config)["pushed"] == 4
    again = run_review_push(store, config)
    assert again["pushed"] == 0 and again["already_pushed"] == 4
    # tasks created on the server but never recorded (a push that died before its commit)
    other = Store.open(store.root.parent / "other")
    data.fill_store(other, marks=False)
    before = run_review_push(other, config)
    assert before["reconciled"] == 4 and before["pushed"] == 0
    client = LabelStudio(base_url=ls_env.url, api_key=ls_env.api_key)
    assert client.projects.get(again["project_id"]).task_number == 4
    other.close()


def test_contamination_task_shows_benchmark_item(store: Store, ls_env) -> None:
    data.fill_store(store, marks=False)
    hit = pl.DataFrame(
        {
            "item_id": ["s02"],
            "item_table": ["seeds"],
            "field": ["problem"],
            "benchmark": ["gsm8k_test"],
            "benchmark_item_id": ["gsm8k_test-0"],
            "method": ["ngram"],
            "matched_ngrams": [7],
            "jaccard": [None],
        },
        schema_overrides={"jaccard": pl.Float64, "matched_ngrams": pl.Int32},
    )
    with store.run("test.hits") as run:
        run.insert(CONTAMINATION, hit)
    counts = run_review_push(store, PushConfig(project="contamination", contaminated=True))
    task_id = _tasks(store, counts["project_id"])["task_id"][0]
    task = LabelStudio(base_url=ls_env.url, api_key=ls_env.api_key).tasks.get(task_id)
    assert "Janet’s ducks lay 16 eggs" in task.data["benchmark"]
    assert task.data["question"].startswith("Problem 2:") and task.meta["item_id"] == "s02"


def test_server_down_gives_clear_error_and_store_unchanged(
    store: Store, ls_env, monkeypatch
) -> None:
    data.fill_store(store, marks=False)
    before = (store.snapshot(), store.runs().height)
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ReviewServerError, match="not reachable.*LABEL_STUDIO_URL"):
        run_review_push(store, PushConfig(project="down", selection="picked"))
    with pytest.raises(ReviewServerError, match="not reachable"):
        run_review_pull(store, PullConfig(project="down"))
    assert (store.snapshot(), store.runs().height) == before


@pytest.mark.parametrize("kind", ["legacy-looking", "tampered-jwt"])
def test_bad_token_names_the_variable_not_the_token(
    store: Store, ls_env, monkeypatch, kind
) -> None:
    data.fill_store(store, marks=False)
    head, body, _ = ls_env.api_key.split(".")
    token = (
        "0123456789abcdef0123456789abcdef" if kind == "legacy-looking" else f"{head}.{body}.forged"
    )
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token)
    with pytest.raises(ReviewServerError) as caught:
        run_review_push(store, PushConfig(project="bad-token", selection="picked"))
    assert "LABEL_STUDIO_API_KEY" in str(caught.value) and token not in str(caught.value)
    assert "forged" not in str(caught.value)


def test_legacy_token_works(store: Store, ls_env, monkeypatch) -> None:
    data.fill_store(store, marks=False)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_env.legacy_token)
    assert run_review_push(store, PushConfig(project="legacy", selection="picked"))["pushed"] == 4


def test_garbage_and_deleted_project_lose_nothing(store: Store, ls_env) -> None:
    data.fill_store(store, marks=False)
    client = LabelStudio(base_url=ls_env.url, api_key=ls_env.api_key)
    counts = run_review_push(store, PushConfig(project="garbage", selection="picked"))
    project_id = counts["project_id"]
    (t1, item1), (t2, _), (t3, _), _ = _tasks(store, project_id).rows()
    client.annotations.create(id=t1, result=_result("accept"))
    client.annotations.create(id=t2, result=_result("maybe"))  # not a verdict of the config
    client.annotations.create(id=t3, result=_result("fix"))  # fix without an answer
    client.tasks.update(id=t1, data={"question": 12345}, meta={"junk": True})  # edited in the UI
    fields = client.tasks.get(t2).data
    stranger = client.projects.import_tasks(
        id=project_id, request=[{"data": fields}], return_task_ids=True
    )
    client.annotations.create(id=stranger.task_ids[0], result=_result("accept"))
    pulled = run_review_pull(store, PullConfig(project="garbage"))
    assert pulled["new_reviews"] == 1 and pulled["meta_repaired"] == 1 and pulled["rejected"] == 3
    rejects = store.table("review_rejects").sort("task_id")
    assert rejects.select("task_id", "field").rows() == [
        (t2, "verdict"),
        (t3, "corrected_answer"),
        (stranger.task_ids[0], "meta"),
    ]
    assert store.table("reviews")["item_id"].to_list() == [item1]
    client.projects.delete(id=project_id)
    with pytest.raises(ReviewServerError, match="no project titled 'garbage'"):
        run_review_pull(store, PullConfig(project="garbage"))
    assert store.table("reviews").height == 1 and store.table("review_rejects").height == 3


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:  # SQLite's -shm and -wal files come and go while the store is open
        return b""


def test_token_never_reaches_the_store(store: Store, ls_env, tmp_path: Path) -> None:
    data.fill_store(store, marks=False)
    client = LabelStudio(base_url=ls_env.url, api_key=ls_env.api_key)
    counts = run_review_push(store, PushConfig(project="secrets", selection="picked"))
    for task_id in _tasks(store, counts["project_id"])["task_id"]:
        client.annotations.create(id=task_id, result=_result("fix", "11"))
    run_review_pull(store, PullConfig(project="secrets"))
    recipe = data.write_recipe(tmp_path / "all.yaml", data.ALL_RECIPE)
    run_mix_build(store, MixBuildConfig(recipe=str(recipe)))
    out = tmp_path / "exp"  # an export never writes inside the store folder
    run_export(store, ExportConfig(mixture="everything", out=str(out), format="jsonl"))
    secrets = [ls_env.api_key.encode(), ls_env.legacy_token.encode()]
    files = [p for root in (store.root, out) for p in root.rglob("*") if p.is_file()]
    assert len(files) > 10 and (out / "train.jsonl") in files
    leaked = [str(p) for p in files for s in secrets if s in _bytes(p)]
    assert leaked == []
    assert json.loads((out / "export.json").read_text())["meta"]["review"]["corrected"]


def test_cli_push_pull_report(tmp_path: Path, ls_env) -> None:
    from typer.testing import CliRunner

    from curate.cli.main import app

    path = tmp_path / "s"
    opened = Store.open(path)
    data.fill_store(opened, marks=False)
    opened.close()
    runner = CliRunner()
    pushed = runner.invoke(
        app, ["review", "push", "-p", "cli", "--selection", "picked", "-s", str(path)]
    )
    assert pushed.exit_code == 0, pushed.output
    assert "pushed=4" in pushed.output and f"{ls_env.url}/projects/" in pushed.output
    with Store.open(path) as opened:
        task_id = int(opened.sql("SELECT min(task_id) FROM review_tasks")[0, 0])
    LabelStudio(base_url=ls_env.url, api_key=ls_env.api_key).annotations.create(
        id=task_id, result=_result("reject")
    )
    pulled = runner.invoke(app, ["review", "pull", "-p", "cli", "-s", str(path)])
    assert pulled.exit_code == 0 and "new_reviews=1" in pulled.output, pulled.output
    reported = runner.invoke(app, ["review", "report", "-p", "cli", "-s", str(path)])
    assert reported.exit_code == 0 and ls_env.email in reported.output, reported.output


def test_a_recipe_pushes_and_pulls(tmp_path: Path, ls_env) -> None:
    """review.push and review.pull are recipe stages; a re-run pushes nothing twice and pulls
    the annotation made in between."""
    import yaml
    from typer.testing import CliRunner

    from curate.cli.main import app

    path = tmp_path / "s"
    opened = Store.open(path)
    data.fill_store(opened, marks=False)
    opened.close()
    recipe = tmp_path / "review.yaml"
    stages = [
        {"stage": "review.push", "config": {"project": "recipe", "selection": "picked"}},
        {"stage": "review.pull", "config": {"project": "recipe"}},
    ]
    recipe.write_text(yaml.safe_dump({"store": str(path), "stages": stages}))
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(recipe)])
    assert first.exit_code == 0, first.output
    assert "pushed=4" in first.output and "new_reviews=0" in first.output
    with Store.open(path) as opened:
        task_id = int(opened.sql("SELECT min(task_id) FROM review_tasks")[0, 0])
    LabelStudio(base_url=ls_env.url, api_key=ls_env.api_key).annotations.create(
        id=task_id, result=_result("accept")
    )
    again = runner.invoke(app, ["run", str(recipe)])
    assert again.exit_code == 0, again.output
    assert "already_pushed=4, pushed=0" in again.output and "new_reviews=1" in again.output
    with Store.open(path) as opened:
        runs = opened.runs().filter(status="succeeded")["stage"].to_list()
    assert runs.count("review.push") == 2 and runs.count("review.pull") == 2
