import numpy as np
import polars as pl

from quality.dedup.stage import DedupConfig, near_duplicates, run_dedup
from store.tables import NEAR_DUPS

BASE = (
    "A bakery sells muffins for 3 dollars each and cookies for 2 dollars each. On Monday it "
    "sold 40 muffins and 75 cookies, and on Tuesday it sold twice as many muffins as on Monday. "
    "How much money did the bakery make from muffins over the two days?"
)


def _variants():
    return [
        BASE,
        BASE.replace("Monday it", "Monday, it").upper(),  # same words after normalization
        BASE + " Explain.",
        "A completely different problem about trains leaving two stations at noon.",
    ]


def test_near_duplicates_cluster_and_pick_earliest():
    texts = _variants()
    ids = pl.Series(["z-late", "a-early", "m-mid", "other"])
    out = near_duplicates(ids, pl.Series(texts), np.array([3, 1, 2, 0]), DedupConfig())
    assert sorted(out["item_id"].to_list()) == ["a-early", "m-mid", "z-late"]
    assert set(out["representative_id"]) == {"a-early"}
    assert out.filter(is_representative=True)["item_id"].to_list() == ["a-early"]
    assert (out["cluster_id"] == "a-early").all()
    assert out.filter(item_id="z-late")["jaccard"].item() == 1.0


def test_ties_in_ingest_order_go_to_lowest_id():
    texts = _variants()[:2]
    out = near_duplicates(pl.Series(["b", "a"]), pl.Series(texts), np.array([0, 0]), DedupConfig())
    assert set(out["representative_id"]) == {"a"}


def test_run_dedup_keeps_the_earlier_run_item(make_store, seeds_spec):
    first = pl.DataFrame({"seed_id": ["zz-first", "solo"], "problem": [BASE, "Count to ten."]})
    store = make_store([(seeds_spec, first.with_columns(source=pl.lit("a")))])
    later = pl.DataFrame({"seed_id": ["aa-later"], "problem": [BASE + " Show work."]})
    with store.run("test.load2", {}) as run:
        run.insert(seeds_spec, later.with_columns(source=pl.lit("b"), run_id=pl.lit(run.id)))
    counts = run_dedup(store, DedupConfig())
    assert counts["clusters"] == 1 and counts["duplicates"] == 1
    table = store.table("near_dups").sort("item_id")
    assert set(table.columns) == set(NEAR_DUPS.columns)
    assert table["item_id"].to_list() == ["aa-later", "zz-first"]
    assert table["representative_id"].to_list() == ["zz-first", "zz-first"]
    assert table["is_representative"].to_list() == [False, True]
    assert (table["item_table"] == "seeds").all() and table["jaccard"].min() >= 0.8


def test_report_quality_cli_prints_hits_and_writes_histogram(make_store, seeds_spec, tmp_path):
    from typer.testing import CliRunner

    from curate.cli.main import app
    from quality.benchmarks.registry import Registry

    problem = Registry.load().items(["math500"])["text"][0]
    seeds = pl.DataFrame(
        {"seed_id": ["a", "b", "c"], "problem": [BASE, BASE + " Quickly.", problem], "source": "t"}
    )
    store = make_store([(seeds_spec, seeds)])
    runner = CliRunner()
    root = str(store.root)
    store.close()  # the CLI opens the store itself
    for args in (["decontam", "-b", "math500"], ["dedup"]):
        result = runner.invoke(app, [*args, "--store", root])
        assert result.exit_code == 0, result.output
    png = tmp_path / "clusters.png"
    result = runner.invoke(app, ["report", "quality", "--png", str(png), "--store", root])
    assert result.exit_code == 0, result.output
    assert "math500" in result.output and "1 near-duplicate clusters" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    listed = runner.invoke(app, ["benchmarks", "list"])
    assert listed.exit_code == 0 and "gpqa_diamond" in listed.output


def test_streamed_run_over_many_batches_equals_the_in_memory_clusters(
    make_store, seeds_spec, math_test_rows
):
    rows = math_test_rows[:1500]
    texts = [r["problem"] for r in rows] + [r["problem"] + " Please answer." for r in rows[:100]]
    ids = [f"s{i:05d}" for i in range(len(texts))]
    seeds = pl.DataFrame({"seed_id": ids, "problem": texts, "source": "math_test"})
    store = make_store([(seeds_spec, seeds)])
    counts = run_dedup(store, DedupConfig(batch_size=97))
    columns = ["item_id", "representative_id", "jaccard"]
    streamed = store.table("near_dups").select(columns).sort("item_id")
    order = np.zeros(len(ids), np.int64)  # one loading run: ties go to the lowest id
    whole = near_duplicates(pl.Series(ids), pl.Series(texts), order, DedupConfig())
    assert counts["items"] == len(ids) and counts["duplicates"] >= 50
    assert streamed.equals(whole.select(columns).sort("item_id"))
