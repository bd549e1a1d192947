from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from curate.seeds.errors import IngestError
from curate.seeds.ingest import IngestConfig, run_ingest
from store import Store


def _state(store: Store) -> tuple[int, int]:
    seeds = store.table("seeds").height if store.has_table("seeds") else 0
    return store.snapshot(), seeds


def test_gsm8k_train_ingests_with_clean_answers_and_reingest_adds_nothing(
    store: Store, shared_data: Path
) -> None:
    source = str(shared_data / "seeds" / "gsm8k_train.jsonl")
    counts = run_ingest(store, IngestConfig(source=source, name="gsm8k"))
    assert counts["seeds_inserted"] == 7473
    seeds = store.table("seeds")
    raw = pl.read_ndjson(source)
    expected = raw["answer"].str.extract(r"####\s*(.+)$").str.replace_all(",", "").str.strip_chars()
    got = dict(zip(seeds["problem"], seeds["answer"], strict=True))
    questions = raw["question"].str.replace_all(r"\s+", " ").str.strip_chars()
    assert [got[q] for q in questions] == expected.to_list()
    assert seeds["solution"].str.contains("####").all()

    again = run_ingest(store, IngestConfig(source=source, name="gsm8k"))
    assert again["seeds_inserted"] == 0
    last = store.runs().row(-1, named=True)
    assert json.loads(last["counts"])["seeds_inserted"] == 0
    assert store.table("seeds").height == 7473


def test_math_solutions_yield_the_last_boxed_answer(store: Store, shared_data: Path) -> None:
    source = shared_data / "seeds" / "math_test.jsonl"
    run_ingest(store, IngestConfig(source=str(source), name="math", answer_field="solution"))
    seeds = store.table("seeds")
    assert seeds.height == 5000
    has_box = seeds.filter(pl.col("solution").str.contains(r"\\boxed|\\fbox"))
    assert has_box["answer"].null_count() == 0
    # nested braces survive: e.g. \boxed{\frac{1}{2}} -> \frac{1}{2}
    nested = has_box.filter(pl.col("answer").str.contains(r"\\frac\{"))
    assert nested.height > 100
    assert nested["answer"].map_elements(lambda a: a.count("{") == a.count("}"), pl.Boolean).all()
    assert seeds["level"].drop_nulls().is_between(1, 5).all()


def test_duplicates_across_sources_are_stored_once_with_provenance(
    store: Store, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.csv"
    one.write_text('{"problem": "What is  1+1?", "answer": "2"}\n{"problem": "What is 2+2?"}\n')
    two.write_text('problem,answer\n"What is 1+1? ",2\n')
    run_ingest(store, IngestConfig(source=str(one), name="one"))
    counts = run_ingest(store, IngestConfig(source=str(two), name="two"))
    assert counts["seeds_inserted"] == 0
    assert store.table("seeds").height == 2
    provenance = store.table("seed_sources").sort("source")
    assert provenance["source"].to_list() == ["one", "one", "two"]
    assert provenance["source_ref"][2] == f"{two}:2"


def test_formats_json_parquet_gzip_and_saved_dataset(store: Store, tmp_path: Path) -> None:
    import datasets

    rows = [{"question": f"Q{i}?", "final": str(i), "uid": f"u{i}"} for i in range(5)]
    (tmp_path / "a.json").write_text(json.dumps({"data": rows[:2]}))
    pl.DataFrame(rows[2:3]).write_parquet(tmp_path / "b.parquet")
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as handle:
        handle.write(json.dumps(rows[3]) + "\n")
    datasets.Dataset.from_list(rows[4:]).save_to_disk(str(tmp_path / "d"))
    for name in ("a.json", "b.parquet", "c.jsonl.gz", "d"):
        config = IngestConfig(
            source=str(tmp_path / name), name=name, answer_field="final", id_field="uid"
        )
        assert run_ingest(store, config)["seeds_inserted"] >= 1
    seeds = store.table("seeds").sort("problem")
    assert seeds["answer"].to_list() == ["0", "1", "2", "3", "4"]
    assert seeds["source_ref"].to_list() == ["u0", "u1", "u2", "u3", "u4"]


BAD_INPUTS = {
    "malformed.jsonl": (
        b'{"problem": "ok"}\n{"problem": "broken"\n',
        r"malformed\.jsonl:2: malformed JSON",
    ),
    "not_object.jsonl": (
        b'{"problem": "ok"}\n[1, 2]\n',
        r"not_object\.jsonl:2: expected a JSON object",
    ),
    "latin1.jsonl": (
        b'{"problem": "ok"}\n{"problem": "caf\xe9"}\n',
        r"latin1\.jsonl:2: not valid UTF-8",
    ),
    "empty.jsonl": (b"\n\n", r"empty\.jsonl: empty file"),
    "seeds.xml": (b"<seeds/>", r"seeds\.xml: unknown format"),
    "no_field.jsonl": (
        b'{"problem": "ok"}\n{"text": "no problem"}\n',
        r"no_field\.jsonl:2: field 'problem' is missing",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_names_the_place_and_changes_nothing(
    store: Store, tmp_path: Path, name: str
) -> None:
    run_ingest(
        store,
        IngestConfig(source=_write(tmp_path, "good.jsonl", b'{"problem": "P"}\n'), name="good"),
    )
    before = _state(store)
    content, message = BAD_INPUTS[name]
    with pytest.raises(IngestError, match=message):
        run_ingest(store, IngestConfig(source=_write(tmp_path, name, content), name="bad"))
    assert _state(store) == before
    assert store.runs().row(-1, named=True)["status"] == "failed"


def test_missing_mapped_field_is_named(store: Store, tmp_path: Path) -> None:
    source = _write(tmp_path, "q.jsonl", b'{"question": "a"}\n{"question": "b", "sol": "1"}\n')
    with pytest.raises(IngestError, match=r"q\.jsonl:1: field 'sol'"):
        run_ingest(store, IngestConfig(source=source, name="q", answer_field="sol"))
    with pytest.raises(IngestError, match=r"field 'nope' \(--answer-field\) is missing"):
        run_ingest(store, IngestConfig(source=source, name="q", answer_field="nope"))


def test_skip_mode_sets_bad_rows_aside_and_lands_the_rest(store: Store, tmp_path: Path) -> None:
    content = b"".join(
        [
            b'{"problem": "good one"}\n',
            b'{"problem": "broken"\n',
            b'{"problem": "caf\xe9"}\n',
            b'{"problem": ""}\n',
            b'{"problem": "good two"}\n',
        ]
    )
    source = _write(tmp_path, "mixed.jsonl", content)
    counts = run_ingest(store, IngestConfig(source=source, name="mixed", on_error="skip"))
    assert counts["seeds_inserted"] == 2
    assert counts["rejected"] == 3
    rejects = store.table("rejects").sort("location")
    assert rejects["location"].to_list() == [f"{source}:{n}" for n in (2, 3, 4)]
    assert rejects["reason"].str.contains("malformed JSON|UTF-8|missing").all()


def _write(directory: Path, name: str, content: bytes) -> str:
    path = directory / name
    path.write_bytes(content)
    return str(path)


def test_hub_sources_go_through_datasets_and_fail_clearly_offline(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = _state(store)
    with pytest.raises(IngestError, match=r"hf:openai/gsm8k:main: could not load"):
        run_ingest(store, IngestConfig(source="hf:openai/gsm8k:main", name="gsm8k"))
    assert _state(store) == before
