"""Review logic that needs no server: agreement, resolution, export parsing, corrections, CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import export_data as data  # tests/export_data.py: tests/ is on sys.path (conftest)
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.mixtures.build import MixBuildConfig, run_mix_build
from quality.review.annotations import choices, parse_export
from quality.review.connection import CONTROLS, labeling_config
from quality.review.corrections import corrections
from quality.review.kappa import cohen_kappa, fleiss_kappa, overall
from quality.review.push import PushConfig
from quality.review.recheck import recheck
from quality.review.resolve import decide, resolve_reviews, resolved
from store import Store, TableSpec
from store.tables import REVIEWS

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 1)


# ---- agreement ---------------------------------------------------------------------------------
def test_cohen_kappa_hand_computed() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # P_o = 35/50 = 0.7; P_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert np.isnan(cohen_kappa([], []))


def test_fleiss_kappa_hand_computed() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories -> 0.210
    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)
    # varying raters: item 1 (2 accept), item 2 (accept, reject, reject), item 3 (1 vote: left out)
    # P_1 = 1, P_2 = (1 + 4 - 3) / 6 = 1/3, P_o = 2/3; votes 3 accept 2 reject -> P_e = .36+.16
    # kappa = (2/3 - 0.52) / 0.48 = 0.30556
    assert fleiss_kappa(np.array([[2, 0], [1, 2], [1, 0]])) == pytest.approx(0.30556, abs=1e-5)
    rows = pl.DataFrame(
        {
            "item_id": ["i1", "i1", "i2", "i2", "i2", "i3"],
            "verdict": ["accept", "accept", "accept", "reject", "reject", "accept"],
        }
    )
    kappa, items = overall(rows, ["accept", "reject", "fix"])
    assert items == 2 and kappa == pytest.approx(0.30556, abs=1e-5)


# ---- resolution --------------------------------------------------------------------------------
def _reviews(rows: list[tuple]) -> pl.DataFrame:
    """(item, annotator, verdict, answer, minutes after T0, annotation id) -> reviews rows."""
    return pl.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "item_table": ["seeds"] * len(rows),
            "annotator": [r[1] for r in rows],
            "verdict": [r[2] for r in rows],
            "corrected_answer": [r[3] for r in rows],
            "updated_at": [T0 + timedelta(minutes=r[4]) for r in rows],
            "annotation_id": [r[5] for r in rows],
            "project_id": [1] * len(rows),
            "project": ["p"] * len(rows),
        },
        schema_overrides={"corrected_answer": pl.String},
    )


@pytest.mark.parametrize(
    ("votes", "rule", "expected"),
    [
        ([("accept", None), ("accept", None), ("reject", None)], "majority", ("accept", None)),
        ([("accept", None), ("reject", None)], "majority", ("reject", None)),
        ([("accept", None), ("fix", "3")], "majority", ("reject", None)),
        ([("fix", "3"), ("fix", " 3 "), ("accept", None)], "majority", ("fix", "3")),
        ([("fix", "3"), ("fix", "4")], "majority", ("reject", None)),
        ([("accept", None), ("accept", None), ("reject", None)], "any_reject", ("reject", None)),
        ([("accept", None), ("fix", "5")], "any_reject", ("fix", "5")),
        ([("reject", None), ("fix", "6")], "latest", ("fix", "6")),
        ([("fix", "6"), ("accept", "6")], "latest", ("accept", None)),
    ],
)
def test_decide(votes, rule, expected) -> None:
    assert decide(votes, rule) == expected


def test_resolve_counts_each_annotator_once_at_their_latest_word() -> None:
    rows = _reviews(
        [
            ("a", "ann", "reject", None, 0, 1),
            ("a", "ann", "accept", None, 5, 1),  # edited
            ("a", "bob", "accept", None, 1, 2),
            ("b", "ann", "fix", "9", 0, 3),
            ("b", "ann", "fix", "9", 2, 4),  # ann twice (2 tasks)
            ("b", "bob", "accept", None, 1, 5),
            ("c", "ann", "maybe", None, 0, 6),  # not a verdict: ignored
        ]
    )
    out = {r["item_id"]: r for r in resolve_reviews(rows).iter_rows(named=True)}
    assert set(out) == {"a", "b"}
    assert (out["a"]["verdict"], out["a"]["accept"], out["a"]["reject"]) == ("accept", 2, 0)
    assert out["b"]["verdict"] == "reject" and out["b"]["annotators"] == ["ann", "bob"]
    assert (
        resolve_reviews(rows, "any_reject").filter(pl.col("item_id") == "b")["verdict"][0] == "fix"
    )
    with pytest.raises(ValueError, match="unknown review rule"):
        resolve_reviews(rows, "vote")  # type: ignore[arg-type]


def test_resolved_reads_a_hand_made_table(store: Store) -> None:
    # older or hand-made reviews tables (tests/export_data.py) lack most columns
    spec = TableSpec("reviews", {"item_id": "VARCHAR", "verdict": "VARCHAR", "reviewer": "VARCHAR"})
    with store.run("test") as run:
        run.insert(
            spec,
            pl.DataFrame(
                {
                    "item_id": ["x", "x", "y"],
                    "verdict": ["reject", "accept", "reject"],
                    "reviewer": ["a", "b", "a"],
                }
            ),
        )
    got = dict(resolved(store).select("item_id", "verdict").iter_rows())
    assert got == {"x": "reject", "y": "reject"}  # x: one accept, one reject -> a tie


# ---- reading Label Studio's export -------------------------------------------------------------
def _ann(aid: int, result, cancelled: bool = False, when: str = "2026-01-01T10:00:00.5Z") -> dict:
    return {
        "id": aid,
        "result": result,
        "was_cancelled": cancelled,
        "created_at": when,
        "updated_at": when,
        "completed_by": {"id": 7, "email": "rev@x.org"},
    }


def _v(verdict, **more) -> list[dict]:
    out = [{"from_name": "verdict", "value": {"choices": [verdict]}}]
    names = {
        "answer": ("corrected_answer", "text"),
        "tags": ("tags", "choices"),
        "rating": ("rating", "rating"),
        "note": ("note", "text"),
    }
    for key, value in more.items():
        name, kind = names[key]
        out.append({"from_name": name, "value": {kind: value}})
    return out


def test_parse_export_sets_garbage_aside() -> None:
    meta = {"item_table": "seeds", "item_id": "s1", "snapshot_id": 4, "source": "teachable"}
    tasks = [
        {
            "id": 1,
            "meta": meta,
            "annotations": [
                _ann(
                    10,
                    _v(
                        "fix", answer=["42"], tags=["wrong_reference_answer"], rating=5, note=["ok"]
                    ),
                ),
                _ann(11, _v("accept"), cancelled=True),
                _ann(12, _v("maybe")),
                _ann(13, _v("fix")),
                _ann(14, _v("accept", rating=7)),
                _ann(15, _v("accept", tags=["nonsense"])),
                _ann(16, "not a list"),
            ],
        },
        {
            "id": 2,
            "meta": {"junk": 1},
            "annotations": [_ann(20, _v("reject"))],
        },  # review_tasks knows it
        {"id": 3, "meta": None, "annotations": [_ann(30, _v("accept"))]},  # nobody knows it
        {"id": 4, "meta": {**meta, "item_id": "s9"}, "annotations": [_ann(40, _v("accept"))]},
    ]
    recorded = {2: ("questions", "q2", 3), 4: ("seeds", "s4", 3)}
    parsed = parse_export(tasks, recorded, "http://ls", "proj", 8)
    rows = {r["annotation_id"]: r for r in parsed.rows}
    assert set(rows) == {10, 20} and parsed.skipped == 1 and parsed.repaired == 1
    first = rows[10]
    assert (first["verdict"], first["corrected_answer"], first["rating"], first["note"]) == (
        "fix",
        "42",
        5,
        "ok",
    )
    assert first["tags"] == '["wrong_reference_answer"]' and first["annotator"] == "rev@x.org"
    assert (
        first["updated_at"] == datetime(2026, 1, 1, 10, 0, 0, 500000) and first["snapshot_id"] == 4
    )
    assert (rows[20]["item_table"], rows[20]["item_id"]) == ("questions", "q2")
    fields = {(r["annotation_id"], r["field"]) for r in parsed.rejects}
    assert fields == {
        (12, "verdict"),
        (13, "corrected_answer"),
        (14, "rating"),
        (15, "tags"),
        (16, "result"),
        (30, "meta"),
        (40, "meta"),
    }


def test_labeling_config_is_valid_and_names_every_control() -> None:
    from label_studio_sdk.label_interface import LabelInterface

    interface = LabelInterface(labeling_config())
    assert [c.name for c in interface.controls] == list(CONTROLS)
    assert choices("verdict") == ("accept", "reject", "fix")
    assert "wrong_reference_answer" in choices("tags") and "unsafe" in choices("tags")


def test_push_config_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="one of selection, mixture"):
        PushConfig(project="p", selection="a", mixture="b")
    with pytest.raises(ValueError, match="choose items"):
        PushConfig(project="p")
    assert PushConfig(project="p", band=["teachable"]).band == ["teachable"]


# ---- corrections and mixtures ------------------------------------------------------------------
def _insert_reviews(store: Store, rows: list[tuple]) -> None:
    """(item_table, item_id, annotator, verdict, answer, minute)."""
    frame = pl.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(len(rows))],
            "item_table": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "annotator": [r[2] for r in rows],
            "verdict": [r[3] for r in rows],
            "corrected_answer": [r[4] for r in rows],
            "project": ["p"] * len(rows),
            "project_id": [1] * len(rows),
            "annotation_id": list(range(len(rows))),
            "updated_at": [T0 + timedelta(minutes=r[5]) for r in rows],
        },
        schema_overrides={"corrected_answer": pl.String},
    )
    with store.run("test.reviews") as run:
        run.insert(REVIEWS, frame)


def test_a_trace_fix_corrects_its_prompt(store: Store) -> None:
    data.fill_store(store, marks=False)
    _insert_reviews(
        store,
        [
            ("traces", "t-s03-0", "ann", "fix", "77", 0),  # a trace on seed s03
            ("traces", "t-q17-1", "ann", "fix", "55", 0),  # a trace on question q17
            ("seeds", "s03", "bob", "fix", "78", 5),  # later: wins for s03
        ],
    )
    got = corrections(store, store.snapshot()).select(
        "prompt_table", "prompt_id", "corrected_answer"
    )
    assert got.rows() == [("questions", "q17", "55"), ("seeds", "s03", "78")]


def test_review_rule_in_the_recipe_decides_exclusions(store: Store, tmp_path: Path) -> None:
    data.fill_store(store, marks=False)
    _insert_reviews(
        store,
        [
            ("seeds", "s01", "ann", "reject", None, 0),
            ("seeds", "s01", "bob", "accept", None, 1),
            ("seeds", "s01", "cy", "accept", None, 2),
        ],
    )

    def seeds_in(rule: str) -> set[str]:
        text = data.ALL_RECIPE.replace("seed: 7", f"seed: 7\nreview_rule: {rule}")
        run_mix_build(
            store, MixBuildConfig(recipe=str(data.write_recipe(tmp_path / "r.yaml", text)))
        )
        build = store.sql("SELECT run_id FROM mixtures ORDER BY created_at DESC LIMIT 1")[0, 0]
        return set(
            store.sql("SELECT seed_id FROM mixture_items WHERE run_id = ?", [build])["seed_id"]
        )

    assert "s01" in seeds_in("majority") and "s01" not in seeds_in("any_reject")


# ---- CLI ---------------------------------------------------------------------------------------
def test_cli_without_server_settings_says_which_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x" * 20)
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "s")]).exit_code == 0
    result = runner.invoke(
        app, ["review", "push", "--project", "p", "--band", "teachable", "-s", str(tmp_path / "s")]
    )
    assert result.exit_code == 1 and "LABEL_STUDIO_URL" in result.output


def test_cli_report_table_and_png(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s")
    data.fill_store(store, marks=False)
    _insert_reviews(
        store,
        [
            ("seeds", "s01", "ann", "accept", None, 0),
            ("seeds", "s01", "bob", "accept", None, 1),
            ("seeds", "s02", "ann", "reject", None, 0),
            ("seeds", "s02", "bob", "accept", None, 1),
            ("seeds", "s03", "ann", "fix", "-1", 0),
        ],
    )
    store.close()
    png = tmp_path / "r.png"
    result = CliRunner().invoke(
        app, ["review", "report", "-s", str(tmp_path / "s"), "--png", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert "Fleiss" in result.output and "ann" in result.output and png.stat().st_size > 0
    rechecked = CliRunner().invoke(app, ["review", "recheck", "-s", str(tmp_path / "s")])
    assert rechecked.exit_code == 0, rechecked.output
    assert "3 traces on corrected prompts, 3 flip" in rechecked.output


def test_recheck_rescores_stored_answers_against_corrections(store: Store) -> None:
    data.fill_store(store, marks=False)  # s03's traces answer 6, 6, -1 (the first two correct)
    attempts = TableSpec(
        "attempts",
        {"seed_id": "VARCHAR", "model": "VARCHAR", "model_name": "VARCHAR",
         "extracted_answer": "VARCHAR", "correct": "BOOLEAN", "run_id": "VARCHAR"},
    )  # fmt: skip
    with store.run("test.attempts") as run:
        run.insert(attempts, pl.DataFrame({
            "seed_id": ["s03"] * 4 + ["s04"], "model": "weak", "model_name": "weak",
            "extracted_answer": ["6", "6", "-1", "5", "8"],
            "correct": [True, True, False, False, True],
        }))  # fmt: skip
    _insert_reviews(store, [("seeds", "s03", "ann", "fix", "-1", 0)])
    result = recheck(store)
    traces = result.traces.select("trace_id", "correct", "correct_after").rows()
    assert traces == [("t-s03-0", True, False), ("t-s03-1", True, False), ("t-s03-2", False, True)]
    rates = result.pass_rates.select("seed_id", "pass_rate", "pass_rate_after").rows()
    assert rates == [("s03", 0.5, 0.25)]  # s04 was not corrected


def test_verified_only_judges_traces_by_the_corrected_answer(store: Store, tmp_path: Path) -> None:
    data.fill_store(store, marks=False)  # s03's traces answer 6, 6, -1 (the first two correct)
    _insert_reviews(store, [("seeds", "s03", "ann", "fix", "-1", 0)])
    recipe = "name: v\nsize: 500\nparts:\n  - {name: all, weight: 1, traces_per_question: 3}\n"
    run_mix_build(store, MixBuildConfig(recipe=str(data.write_recipe(tmp_path / "v.yaml", recipe))))
    picked = store.sql("SELECT trace_id FROM mixture_items WHERE seed_id = 's03'")["trace_id"]
    assert picked.to_list() == ["t-s03-2"]
