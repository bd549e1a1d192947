"""User SQL (`--where`, a recipe's `where:`) is one read-only, balanced expression, always
parenthesized; anything else is refused in one line before it meets a query, and the store is
left exactly as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from curate.pipeline import RecipeError, load_recipe
from curate.synthetic.generate import SynthConfig, run_synth
from curate.teachability.inputs import load_seeds
from curate.teachability.proxy import ProxyConfig, run_proxy
from store import Store
from store.sql import SqlConditionError, bind_condition, where_expression
from store.tables import SELECTIONS
from synth.traces import TracesConfig, _load_items, run_traces

DROP = "1=0; DROP TABLE lake.seeds; SELECT 1 AS seed_id WHERE 1=1"
ESCAPE = "1=1) OR (1=1"

REFUSED = {
    # the cases
    DROP: "without ';'",
    ESCAPE: "unbalanced parentheses",
    "level >=": "not a valid SQL condition",
    # other injection shapes
    "1=1 UNION SELECT seed_id FROM lake.seeds": "not a valid SQL condition",
    "seed_id IN (SELECT item_id FROM lake.traces)": "subqueries are not allowed",
    "seed_id IN (FROM lake.traces SELECT item_id)": "subqueries are not allowed",
    "EXISTS (SELECT 1 FROM lake.runs)": "subqueries are not allowed",
    "COPY lake.seeds TO '/tmp/leak.csv'": "not a valid SQL condition",
    "true; COPY lake.seeds TO '/tmp/leak.csv'": "without ';'",
    "true; ATTACH '/tmp/other.db' AS other": "without ';'",
    "PRAGMA database_list": "not a valid SQL condition",
    "SET threads = 1": "not a valid SQL condition",
    "INSTALL httpfs": "not a valid SQL condition",
    "level > 1 -- and the rest is gone": "comments",
    "level > 1 /* hidden */ OR true": "comments",
    "domain = 'a'' OR 1=1": "not a valid SQL condition",  # the quote stays open
    "length(read_text('/etc/passwd')) > 0": "function read_text() is not allowed",
    "read_csv('/etc/passwd') IS NOT NULL": "function read_csv() is not allowed",
    "glob('/root/*') IS NULL": "function glob() is not allowed",
    "random() < 0.5": "function random() is not allowed",
    "current_setting('threads') > 1": "function current_setting() is not allowed",
    "name = ?": "parameter placeholders",
    "level = $1": "parameter placeholders",
    "1=1)) UNION ALL SELECT * FROM read_csv('/etc/passwd') WHERE ((1=1": "unbalanced",
    "((level > 1)": "unbalanced parentheses",
    "level = 3 ORDER BY 1": "not a valid SQL condition",
    "   ": "empty",
}
ACCEPTED = [
    "level >= 3 AND domain = 'math'",
    "problem LIKE '%;%'",  # a ';' or '--' inside a string literal is text
    "problem LIKE '%--%'",
    "level IN (1, 2) OR NOT (level > 2)",
    "list_contains(range(5), level)",  # scalar range(), not the table function
    '"level" BETWEEN 1 AND 3',
]


@pytest.mark.parametrize("text", list(REFUSED))
def test_refused_in_one_line(text: str) -> None:
    with pytest.raises(SqlConditionError) as caught:
        where_expression(text)
    message = str(caught.value)
    assert REFUSED[text] in message
    assert "\n" not in message and message.startswith("where: ")


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_and_parenthesized(text: str) -> None:
    assert where_expression(text) == f"({text})"


@pytest.fixture
def seeds(store: Store) -> Store:
    run_synth(store, SynthConfig(count=50, seed=3))
    return store


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lvl >= 3", 'column "lvl" not found'),
        ("nope(problem) = 1", "nope does not exist"),
        ("domain", "is VARCHAR, not true/false"),
        ("ATTACH '/tmp/other.db'", "ATTACH"),  # parses as a typed literal; no such type
    ],
)
def test_bound_against_the_real_table(seeds: Store, text: str, expected: str) -> None:
    with pytest.raises(SqlConditionError) as caught:
        bind_condition(seeds, seeds.ref("seeds"), text)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_run_time_error_is_one_line(seeds: Store) -> None:
    with pytest.raises(SqlConditionError) as caught:
        load_seeds(seeds, seeds.snapshot(), "CAST(problem AS INTEGER) > 3")
    assert "Could not convert" in str(caught.value) and "\n" not in str(caught.value)


def _unchanged(store: Store, snapshot: int, seeds: pl.DataFrame) -> None:
    assert store.snapshot() == snapshot
    assert store.table("seeds").sort("seed_id").equals(seeds)


def test_drop_through_proxy_is_refused_and_store_unchanged(seeds: Store) -> None:
    before, rows = seeds.snapshot(), seeds.table("seeds").sort("seed_id")
    with pytest.raises(ValidationError, match="without ';'"):
        ProxyConfig(where=DROP)
    # past the config check too (a config built without validation): the stage refuses
    with pytest.raises(SqlConditionError, match="without ';'"):
        run_proxy(seeds, ProxyConfig.model_construct(where=DROP))
    for text in ("true; DROP TABLE lake.seeds", "false) OR (true"):
        with pytest.raises(SqlConditionError):
            load_seeds(seeds, seeds.snapshot(), text)
    _unchanged(seeds, before, rows)
    runs = seeds.runs()
    assert runs.filter(pl.col("stage") == "proxy")["status"].to_list() == ["failed"]


def _select(store: Store, name: str, seed_ids: list[str]) -> None:
    frame = pl.DataFrame({"name": name, "seed_id": seed_ids, "snapshot_id": store.snapshot()})
    with store.run("select", {"name": name}) as run:
        run.insert(SELECTIONS, frame)


def test_selection_cannot_be_escaped(seeds: Store) -> None:
    ids = seeds.table("seeds").sort("seed_id")["seed_id"].to_list()
    _select(seeds, "edge", ids[:3])
    at = seeds.snapshot()
    inside = _load_items(seeds, TracesConfig(selection="edge", where="1=1"), at)
    assert inside["item_id"].to_list() == ids[:3]
    for text in (ESCAPE, "true) OR seed_id IS NOT NULL OR (true", "1=1)OR(1=1"):
        config = TracesConfig.model_construct(selection="edge", where=text)
        with pytest.raises(SqlConditionError, match="unbalanced"):
            _load_items(seeds, config, at)
    with pytest.raises(SqlConditionError, match="without ';'"):
        run_traces(seeds, TracesConfig.model_construct(selection="edge", where=DROP))
    assert seeds.table("seeds").height == 50


def test_store_latest_guards_its_where(seeds: Store) -> None:
    _select(seeds, "edge", ["a", "b"])
    rows = seeds.latest("selections", key="name", where="name = ?", params=["edge"])
    assert rows.height == 2
    with pytest.raises(SqlConditionError, match="unbalanced"):
        seeds.latest("selections", key="name", where="name = 'x') OR (true")


def test_a_recipe_with_a_bad_where_fails_before_any_stage(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "stages:\n"
        "  - stage: seeds.synth\n    config: {count: 5}\n"
        f'  - stage: traces\n    config: {{where: "{ESCAPE}"}}\n'
    )
    with pytest.raises(RecipeError) as caught:
        load_recipe(recipe)
    message = str(caught.value)
    assert "r.yaml: stages[2]: stage 'traces': where:" in message
    assert "unbalanced parentheses" in message
    assert not (tmp_path / "teachable-data").exists()


def test_cli_refuses_without_a_traceback(seeds: Store, tmp_path: Path) -> None:
    root, before = str(seeds.root), seeds.snapshot()
    seeds.close()
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("teachable")), "proxy", "--where", DROP, "-s", root],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "without ';'" in result.stderr
    with Store.open(root, create=False) as again:
        assert again.snapshot() == before and again.table("seeds").height == 50


# ---- deterministic: only the row decides (issue 23, class 6) ----------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "second(now()) % 2 = 0",
        "txid_current() > 0",
        "today() > DATE '2020-01-01'",
        "level > 0 OR current_date > DATE '2020-01-01'",
        "current_timestamp IS NOT NULL",
        "epoch(get_current_timestamp()) > 0",
        "pg_get_viewdef(1) IS NULL",  # a built-in macro over a catalog subquery
        "format_type(1, 1) IS NULL",
        "current_database() = 'x'",
    ],
)
def test_clock_session_and_macro_subqueries_are_refused(text: str) -> None:
    with pytest.raises(SqlConditionError, match="not allowed") as info:
        where_expression(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["second(TIMESTAMP '2020-01-01 00:00:07') = 7", "upper(problem) LIKE '%X%'", "level > 2"],
)
def test_the_same_functions_over_constants_and_columns_are_fine(text: str) -> None:
    assert where_expression(text) == f"({text})"
