"""Mixture recipes: validation errors, filters and caps, determinism, time travel, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import export_data as data  # tests/export_data.py: tests/ is on sys.path (conftest)
import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.mixtures.build import MixBuildConfig, run_mix_build
from curate.mixtures.recipe import MixtureRecipeError, load_recipe, parse_recipe
from store import Store, TableSpec
from store.tables import SEEDS

REPO = Path(__file__).resolve().parents[2]


def _build(store: Store, tmp_path: Path, text: str, at: int | str | None = None) -> pl.DataFrame:
    recipe = data.write_recipe(tmp_path / "recipe.yaml", text)
    run_mix_build(store, MixBuildConfig(recipe=str(recipe), at=at))
    build = store.sql("SELECT run_id FROM mixtures ORDER BY created_at DESC LIMIT 1")[0, 0]
    return store.sql("SELECT * FROM mixture_items WHERE run_id = ? ORDER BY position", [build])


def _traces(store: Store) -> pl.DataFrame:
    return (
        store.table("traces")
        .join(
            store.table("questions").select(pl.col("question_id").alias("item_id"), "seed_id"),
            on="item_id",
            how="left",
        )
        .with_columns(pl.col("seed_id").fill_null(pl.col("item_id")))
    )


MIXED = """
name: mixed
size: 30
seed: 3
parts:
  - {name: gsm, source: "gsm*", weight: 2, max_per_seed: 1}
  - {name: hard, band: too_hard, level: [2, 4], weight: 1, traces_per_question: 2}
  - {name: picked, selection: picked, count: 4, verified_only: false}
"""


def test_same_recipe_same_snapshot_same_items(store: Store, tmp_path: Path) -> None:
    snapshot = data.fill_store(store)
    first = _build(store, tmp_path, MIXED)
    again = _build(store, tmp_path, MIXED)  # now at a later snapshot, same inputs
    pinned = _build(store, tmp_path, MIXED, at=snapshot)
    columns = ["position", "part", "trace_id", "seed_id"]
    assert first.height > 0
    assert first.select(columns).equals(again.select(columns))
    assert first.select(columns).equals(pinned.select(columns))
    reseeded = _build(store, tmp_path, MIXED.replace("seed: 3", "seed: 4"))
    assert set(reseeded["trace_id"]) != set(first["trace_id"])


def test_filters_caps_and_targets(store: Store, tmp_path: Path) -> None:
    data.fill_store(store)
    items = _build(store, tmp_path, MIXED)
    traces = _traces(store).select("trace_id", "item_id", "correct")
    seeds = store.table("seeds").select("seed_id", "source", "level")
    full = items.join(traces, on=["trace_id", "item_id"]).join(seeds, on="seed_id")
    counts = dict(full.group_by("part").len().iter_rows())
    record = store.sql("SELECT counts FROM mixtures LIMIT 1")[0, 0]
    assert '"gsm": {"available": 10, "selected": 10, "target": 17}' in record
    assert counts == {"gsm": 10, "hard": 9, "picked": 4}

    gsm = full.filter(pl.col("part") == "gsm")
    assert set(gsm["source"]) == {"gsm8k"} and gsm["seed_id"].n_unique() == gsm.height
    hard = full.filter(pl.col("part") == "hard")
    assert set(hard["band"]) == {"too_hard"} and hard["level"].is_between(2, 4).all()
    assert hard.group_by("item_id").len()["len"].max() <= 2
    assert full.filter(pl.col("part") != "picked")["correct"].all()  # verified_only default
    picked = full.filter(pl.col("part") == "picked")
    assert set(picked["seed_id"]) <= {"s01", "s03", "s05", "s07"}
    assert full["trace_id"].n_unique() == full.height  # no trace in two parts


def test_pinned_snapshot_ignores_later_rows(store: Store, tmp_path: Path) -> None:
    snapshot = data.fill_store(store)
    recipe = "name: all\nsize: 500\nparts:\n  - {name: all, weight: 1, verified_only: false}\n"
    before = _build(store, tmp_path, recipe)
    extra = data._seeds("later").with_columns(
        pl.col("seed_id").str.replace("s", "n"), pl.lit("late").alias("source")
    )
    traces = (
        data._traces("later")
        .filter(pl.col("item_table") == "seeds")
        .with_columns(
            pl.col("trace_id").str.replace("-s", "-n"), pl.col("item_id").str.replace("s", "n")
        )
    )
    with store.run("test.more") as run:
        run.insert(SEEDS, extra)
        run.insert(data.TRACES, traces)
    pinned = _build(store, tmp_path, recipe, at=snapshot)
    now = _build(store, tmp_path, recipe)
    assert set(pinned["trace_id"]) == set(before["trace_id"])
    assert set(now["seed_id"]) - set(before["seed_id"]) and now.height > before.height


def test_missing_tables_read_as_no_rows(store: Store, tmp_path: Path) -> None:
    with store.run("test.minimal") as run:
        run.insert(SEEDS, data._seeds(run.id))
        traces = data._traces(run.id).filter(pl.col("item_table") == "seeds")
        run.insert(data.TRACES, traces)
    items = _build(store, tmp_path, "name: m\nsize: 10\nparts:\n  - {name: a, weight: 1}\n")
    assert items.height == 10 and items["band"].null_count() == 10


def test_band_comes_from_the_latest_difficulty_run(store: Store, tmp_path: Path) -> None:
    data.fill_store(store)
    newer = store.table("difficulty").with_columns(band=pl.lit("too_easy"))
    with store.run("test.difficulty-again") as run:
        run.insert(data.DIFFICULTY, newer.with_columns(run_id=pl.lit(run.id)))
    items = _build(store, tmp_path, "name: m\nsize: 50\nparts:\n  - {name: a, weight: 1}\n")
    assert set(items["band"]) == {"too_easy"}


BAD = [
    ("name: m\nsize: 5\nparts:\n  - {name: hard, weight: -1}", "parts[0] 'hard': weight"),
    ("name: m\nsize: 5\nparts:\n  - {name: a, count: 1, band: medium}", "parts[0] 'a': band"),
    (
        "name: m\nsize: 5\nparts:\n  - {name: a, count: 1}\n  - {name: b, count: 1, level: [3, 1]}",
        "parts[1] 'b': level",
    ),
    ("name: m\nsize: 5\nparts:\n  - {name: a, count: 1, colour: red}", "parts[0] 'a': colour"),
    ("name: m\nsize: 5\nparts:\n  - {name: a}", "exactly one of `weight` or `count`"),
    ("name: m\nparts:\n  - {name: a, weight: 1}", "need the recipe's total `size`"),
    ("name: m\nsize: 5\nparts:\n  - {name: a, count: 9}", "more than size 5"),
    ("name: m\nsize: 5\nparts:\n  - {name: a, count: 1}\n  - {name: a, count: 1}", "unique"),
    ("name: m\nsize: 5\nparts: [", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_recipes_name_file_part_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = data.write_recipe(tmp_path / "bad.yaml", text)
    with pytest.raises(MixtureRecipeError) as info:
        load_recipe(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_example_recipes_parse_and_targets_add_up() -> None:
    for path in sorted((REPO / "recipes" / "mixtures").glob("*.yaml")):
        recipe, _ = load_recipe(path)
        assert sum(recipe.targets().values()) == recipe.size
    recipe = parse_recipe(
        "name: m\nsize: 10\nparts:\n"
        + "".join(f"  - {{name: p{i}, weight: 1}}\n" for i in range(3))
    )
    assert sorted(recipe.targets().values()) == [3, 3, 4]


def test_strict_recipe_fails_when_short(store: Store, tmp_path: Path) -> None:
    data.fill_store(store)
    text = "name: m\nsize: 5000\nstrict: true\nparts:\n  - {name: a, weight: 1}\n"
    with pytest.raises(MixtureRecipeError, match="too few candidates"):
        _build(store, tmp_path, text)
    assert not store.has_table("mixtures")


def test_cli_build_list_export_and_clean_errors(store: Store, tmp_path: Path) -> None:
    data.fill_store(store)
    root = str(store.root)
    store.close()
    runner = CliRunner()
    recipe = data.write_recipe(tmp_path / "r.yaml", data.ALL_RECIPE)
    built = runner.invoke(app, ["mix", "build", str(recipe), "--store", root])
    assert built.exit_code == 0, built.output
    assert "everything at snapshot" in built.output
    listed = runner.invoke(app, ["mix", "list", "--store", root])
    assert listed.exit_code == 0 and "everything" in listed.output
    out = tmp_path / "exp"
    args = ["export", "everything", "--format", "jsonl", "--out", str(out), "--store", root]
    exported = runner.invoke(app, [*args, "--val-fraction", "0.5"])
    assert exported.exit_code == 0, exported.output
    assert (out / "train.jsonl").exists() and (out / "README.md").exists()
    bad = data.write_recipe(tmp_path / "bad.yaml", "name: m\nsize: 5\nparts:\n  - {name: x}\n")
    failed = runner.invoke(app, ["mix", "build", str(bad), "--store", root])
    assert failed.exit_code == 1 and "bad.yaml" in failed.output and "parts[0] 'x'" in failed.output
    missing = runner.invoke(app, ["export", "nope", "--out", str(tmp_path / "o"), "--store", root])
    assert missing.exit_code == 1 and "no mixture 'nope'" in missing.output


def test_pipeline_registers_the_stages() -> None:
    from curate.pipeline import STAGES, stage_config

    config = stage_config("export", {"mixture": "m", "out": "x"}, "recipe.yaml")
    assert config.format == "parquet"  # type: ignore[attr-defined]
    assert "mix.build" in STAGES


_ = TableSpec  # fixtures write with test-local specs (see tests/export_data.py)


def test_inline_recipe_through_the_pipeline_and_an_empty_export(
    store: Store, tmp_path: Path
) -> None:
    from curate.export.stage import ExportConfig, run_export
    from curate.pipeline import run_stage, stage_config

    data.fill_store(store)
    inline = {"name": "none", "size": 5, "parts": [{"name": "x", "weight": 1, "source": "no*"}]}
    config = stage_config("mix.build", {"recipe": inline}, "pipeline.yaml")
    assert run_stage(store, "mix.build", config)["part_x"] == 0
    out = tmp_path / "empty"
    run_export(store, ExportConfig(mixture="none", out=str(out)))
    assert pl.read_parquet(out / "train.parquet").height == 0
    assert "| train | 0 | 0 |" in (out / "README.md").read_text()


def _hits(store: Store, kinds: dict[str, str]) -> None:
    """Contamination rows (current schema) for seeds: seed id -> hit kind."""
    from store.tables import CONTAMINATION

    rows = pl.DataFrame(
        {
            "item_id": list(kinds),
            "item_table": "seeds",
            "field": "problem",
            "benchmark": "math500",
            "benchmark_item_id": [f"b-{s}" for s in kinds],
            "method": "ngram",
            "kind": list(kinds.values()),
        }
    )
    with store.run("test.decontam") as run:
        run.insert(CONTAMINATION, rows)


def test_a_copy_is_excluded_and_a_sibling_kept_unless_the_recipe_says(
    store: Store, tmp_path: Path
) -> None:
    data.fill_store(store, marks=False)
    everything = set(_build(store, tmp_path, data.ALL_RECIPE)["seed_id"])
    assert {"s01", "s03", "s05"} <= everything
    _hits(store, {"s01": "copy", "s03": "sibling", "s05": "quote"})
    default = set(_build(store, tmp_path, data.ALL_RECIPE)["seed_id"])
    assert "s03" in default and not {"s01", "s05"} & default
    assert default == everything - {"s01", "s05"}
    strict = data.ALL_RECIPE.replace("seed: 7", "seed: 7\nexclude_siblings: true")
    assert set(_build(store, tmp_path, strict)["seed_id"]) == everything - {"s01", "s03", "s05"}
    record = store.sql("SELECT decontamination, decontamination_kinds FROM mixtures")
    kinds = [json.loads(k) for k in record["decontamination_kinds"] if k != "{}"]
    assert len(kinds) == 2  # the builds after the hits
    assert all(set(k["math500"]) == {"copy", "quote", "sibling"} for k in kinds)


def test_a_later_decontam_run_changes_the_kind_in_force(store: Store, tmp_path: Path) -> None:
    data.fill_store(store, marks=False)
    _hits(store, {"s03": "copy"})
    assert "s03" not in set(_build(store, tmp_path, data.ALL_RECIPE)["seed_id"])
    _hits(store, {"s03": "sibling"})  # reclassified: the latest run per hit wins
    assert "s03" in set(_build(store, tmp_path, data.ALL_RECIPE)["seed_id"])
