"""Export round trip: a store with planted exclusions -> mix build -> export -> load back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import datasets
import polars as pl
import pyarrow.parquet as pq
import pytest
from export_data import ALL_RECIPE, PLANTED, excluded_traces, fill_store, write_recipe

from curate.export import ExportError, ExportMeta, export_rows, is_val
from curate.export.stage import ExportConfig, run_export, system_prompt
from curate.mixtures.build import MixBuildConfig, run_mix_build
from store import Store

REPO = Path(__file__).resolve().parents[2]


def _export(store: Store, tmp_path: Path, fmt: str, val_fraction: float = 0.3) -> Path:
    recipe = write_recipe(tmp_path / "all.yaml", ALL_RECIPE)
    run_mix_build(store, MixBuildConfig(recipe=str(recipe)))
    out = tmp_path / f"export-{fmt}"
    run_export(
        store,
        ExportConfig(mixture="everything", out=str(out), format=fmt, val_fraction=val_fraction),
    )
    return out


def _expected(store: Store) -> pl.DataFrame:
    """What each exported row must say, computed independently from the raw tables."""
    traces = store.table("traces")
    questions = store.table("questions").select(
        pl.col("question_id").alias("item_id"),
        "seed_id",
        "question",
        pl.col("answer").alias("q_answer"),
    )
    seeds = store.table("seeds").select("seed_id", "problem", pl.col("answer").alias("s_answer"))
    return (
        traces.join(questions, on="item_id", how="left")
        .with_columns(pl.col("seed_id").fill_null(pl.col("item_id")))
        .join(seeds, on="seed_id", how="left")
        .select(
            pl.col("trace_id").alias("id"),
            "item_id",
            "seed_id",
            pl.coalesce("question", "problem").alias("user"),
            pl.concat_str(pl.lit("<think>"), "reasoning", pl.lit("</think>"), "answer_text").alias(
                "assistant"
            ),
            pl.coalesce("q_answer", "s_answer").alias("answer"),
        )
    )


def _card_table(card: str, title: str) -> dict[str, tuple[int, int, int]]:
    block = card.split(f"| {title} | train | val | total |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| (\S+) \| (\d+) \| (\d+) \| (\d+) \|$", block, re.M)
    return {v: (int(a), int(b), int(c)) for v, a, b, c in rows}


def test_parquet_round_trip_excludes_planted_items_and_splits_by_seed(
    store: Store, tmp_path: Path
) -> None:
    fill_store(store)
    out = _export(store, tmp_path, "parquet")
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "export.json",
        "train.parquet",
        "val.parquet",
    ]
    loaded = datasets.load_dataset(
        "parquet", data_files={s: str(out / f"{s}.parquet") for s in ("train", "val")}
    )
    train, val = (pl.from_arrow(loaded[s].data.table) for s in ("train", "val"))
    rows = pl.concat(
        [train.with_columns(split=pl.lit("train")), val.with_columns(split=pl.lit("val"))]
    )
    assert set(train.columns) == {
        "id",
        "seed_id",
        "messages",
        "prompt",
        "answer",
        "answer_type",
        "tests",
        "part",
        "domain",
        "band",
    }

    assert set(rows["answer_type"]) == {"number"}
    assert rows["tests"].null_count() == rows.height  # math rows carry no tests

    # rows and ids: exactly the mixture's items
    items = store.sql("SELECT * FROM mixture_items")
    assert rows.height == items.height > 0
    assert sorted(rows["id"].to_list()) == sorted(items["trace_id"].to_list())

    # nothing planted is present, though every planted trace was a candidate
    expected = _expected(store)
    banned = excluded_traces(expected.rename({"id": "trace_id"}))
    assert len(banned) >= 7 and not banned & set(rows["id"].to_list())
    assert PLANTED["contaminated_seed"] not in set(rows["seed_id"].to_list())
    assert rows.height == expected.height - len(banned)  # everything else is in

    # chat rendering
    prompt_text, _ = system_prompt(None)
    assert prompt_text == (REPO / "synth" / "prompts" / "reasoning_system.txt").read_text()
    joined = rows.join(expected, on="id", validate="1:1")
    for row in joined.iter_rows(named=True):
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"]
        system, user, assistant = (m["content"] for m in row["messages"])
        assert system == prompt_text and user == row["user"]
        assert assistant == row["assistant"]
        assert assistant.startswith("<think>") and "</think>The answer is" in assistant
        assert row["prompt"] == row["messages"][:2]
        assert row["answer"] == row["answer_right"]
        assert row["seed_id"] == row["seed_id_right"]

    # split by seed
    assert not set(train["seed_id"]) & set(val["seed_id"])
    assert train.height > 0 and val.height > 0

    # the card's counts are the data's
    card = (out / "README.md").read_text()
    for key in ("part", "domain", "band"):
        table = _card_table(card, key)
        data = rows.group_by(key, "split").len()
        for value, (n_train, n_val, total) in table.items():
            got = dict(data.filter(pl.col(key) == value).select("split", "len").iter_rows())
            assert (n_train, n_val) == (got.get("train", 0), got.get("val", 0))
            assert total == n_train + n_val
        assert sum(t[2] for t in table.values()) == rows.height
    summary = json.loads((out / "export.json").read_text())
    assert summary["rows"] == {"train": train.height, "val": val.height}
    assert summary["seeds_in_both"] == 0
    assert f"store snapshot **{store.sql('SELECT snapshot_id FROM mixtures')[0, 0]}**" in card
    for benchmark in ("gsm8k_test", "aime_2024", "math500"):
        assert re.search(rf"^\| {benchmark} \| 1 \|$", card, re.M)
    assert "mix.build-" in card and "traces runs: test.fixture-" in card


def test_without_marks_the_planted_items_are_exported(store: Store, tmp_path: Path) -> None:
    fill_store(store, marks=False)
    out = _export(store, tmp_path, "parquet")
    ids = set(pl.read_parquet(out / "train.parquet")["id"]) | set(
        pl.read_parquet(out / "val.parquet")["id"]
    )
    rejected_question_traces = {f"t-{PLANTED['rejected_question']}-{k}" for k in range(3)}
    planted = excluded_traces(_expected(store).rename({"id": "trace_id"}))
    planted -= rejected_question_traces
    assert planted <= ids


@pytest.mark.parametrize("fmt", ["jsonl", "hf"])
def test_jsonl_and_hf_exports_load(store: Store, tmp_path: Path, fmt: str) -> None:
    fill_store(store)
    out = _export(store, tmp_path, fmt)
    if fmt == "jsonl":
        loaded = datasets.load_dataset(
            "json", data_files={s: str(out / f"{s}.jsonl") for s in ("train", "val")}
        )
    else:
        loaded = datasets.load_from_disk(str(out))
    summary = json.loads((out / "export.json").read_text())
    assert {s: loaded[s].num_rows for s in ("train", "val")} == summary["rows"]
    first = loaded["train"][0]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert first["messages"][2]["content"].startswith("<think>")
    assert (out / "README.md").exists()


def _rows(n: int, seeds: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"t{i}" for i in range(n)],
            "seed_id": [f"s{i % seeds}" for i in range(n)],
            "part": ["a", "b"] * (n // 2),
            "domain": "math",
            "band": "teachable",
            "question": [f"q {i}" for i in range(n)],
            "reasoning": "some  words\\nhere",
            "answer_text": "\\boxed{1}",
            "answer": "1",
        }
    )


def test_export_rows_streams_frames_lazy_frames_and_batches(tmp_path: Path) -> None:
    frame = _rows(1000, seeds=100)
    meta = ExportMeta(name="stream", system_prompt="SYS")
    inputs = {
        "frame": frame,
        "lazy": frame.lazy(),
        "chunks": (frame.slice(i, 250) for i in range(0, 1000, 250)),
    }
    results = {}
    for name, rows in inputs.items():
        result = export_rows(rows, meta, tmp_path / name, val_fraction=0.2, batch_rows=100)
        results[name] = result.rows
        train = pq.ParquetFile(tmp_path / name / "train.parquet")
        assert train.metadata.num_row_groups > 1  # written batch by batch
    assert results["frame"] == results["lazy"] == results["chunks"]
    assert sum(results["frame"].values()) == 1000
    # a seed's split does not depend on the batch it arrives in
    val = pl.read_parquet(tmp_path / "frame" / "val.parquet")
    assert set(val["seed_id"]) == set(
        frame.filter(is_val(frame["seed_id"], 0.2))["seed_id"].unique()
    )


def test_export_refuses_a_full_folder_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    meta = ExportMeta(name="x", system_prompt="SYS")
    out = tmp_path / "out"
    export_rows(_rows(10, 5), meta, out)
    with pytest.raises(ExportError, match="not empty"):
        export_rows(_rows(10, 5), meta, out)
    with pytest.raises(ValueError, match="lack columns"):
        export_rows(_rows(10, 5).drop("answer"), meta, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_card_never_carries_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    meta = ExportMeta(
        name="x",
        system_prompt="SYS",
        recipe_yaml=f"name: x\ndescription: pasted {secret} by mistake\n",
        run_ids={"traces": [f"run-{secret}"]},
    )
    export_rows(_rows(10, 5), meta, tmp_path / "out")
    for path in (tmp_path / "out").iterdir():
        if path.suffix in (".md", ".json"):
            assert secret not in path.read_text()


def test_card_counts_matches_per_benchmark_and_kind(store: Store, tmp_path: Path) -> None:
    from store.tables import CONTAMINATION

    fill_store(store, marks=False)
    hits = pl.DataFrame(
        {
            "item_id": ["s01", "s03", "s05"],
            "item_table": "seeds",
            "field": "problem",
            "benchmark": ["math500", "math500", "aime24"],
            "benchmark_item_id": ["b1", "b2", "b3"],
            "method": "ngram",
            "kind": ["copy", "sibling", "sibling"],
        }
    )
    with store.run("test.decontam") as run:
        run.insert(CONTAMINATION, hits)
    card = (_export(store, tmp_path, "jsonl") / "README.md").read_text()
    assert re.search(r"^\| math500 \| copy \| \d+ \| yes \|$", card, re.M)
    assert re.search(r"^\| math500 \| sibling \| \d+ \| no \|$", card, re.M)
    assert re.search(r"^\| aime24 \| sibling \| \d+ \| no \|$", card, re.M)
    assert re.search(r"^\| math500 \| \d+ \|$", card, re.M)  # prompts excluded: the copy's
    assert not re.search(r"^\| aime24 \| \d+ \|$", card, re.M)  # siblings excluded nothing
