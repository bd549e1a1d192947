"""Ingest damage beyond single rows (issue 15, class 6): streams with no record boundary to
resume from fail in both modes; number answers, BOMs, raw records, whole bad columns, clean
files' types, and the two CSV paths agreeing.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import polars as pl
import pytest
from ingest_cases import GOOD, jsonl, store_state  # tests/curate/ingest_cases.py

from curate.seeds.errors import IngestError
from curate.seeds.ingest import IngestConfig, run_ingest
from curate.seeds.records import KIND, LOC
from store import Store

FATAL = {
    "bad_deflate.jsonl.gz": (
        lambda p: p.write_bytes(gzip.compress(jsonl(GOOD) * 50) + _bad_member()),
        r":51: gzip data is corrupt \(Error -3 while decompressing data: invalid block type\); "
        r"the damage may start before this line",
    ),
    "bad_crc.jsonl.gz": (
        lambda p: p.write_bytes(_flip(gzip.compress(_noise_lines(4000)), -8)),
        r":\d+: gzip data is corrupt \(Error -3 while decompressing data: incorrect data check\)",
    ),
    "deflate_from_start.jsonl.gz": (
        lambda p: p.write_bytes(_bad_member()),
        r": not a readable gzip file: Error -3 while decompressing data: invalid block type",
    ),
    "not_gzip.jsonl.gz": (
        lambda p: p.write_bytes(jsonl(GOOD)),
        r": not a readable gzip file: Error -3 while decompressing data: incorrect header check",
    ),
    "empty.jsonl.gz": (lambda p: p.write_bytes(gzip.compress(b"")), r": empty file, no records"),
    "scalar.json": (lambda p: p.write_bytes(b"42"), r": expected a list of records, got a number"),
    "deep.json": (
        lambda p: p.write_bytes(b"[" * 100_000 + b"]" * 100_000),
        r": nested deeper than 64 levels",
    ),
    "broken.json": (
        lambda p: p.write_bytes(b'[\n{"problem": "a"},\n{"problem": \n'),
        r":4: malformed JSON: Expecting value",
    ),
    "latin1.json": (
        lambda p: p.write_bytes(b'[\n{"problem": "caf\xe9"}]'),
        r":2: not valid UTF-8 \(byte 0xe9\)",
    ),
    "truncated.parquet": (
        lambda p: p.write_bytes(_parquet_bytes(p)[:40]),
        r": cannot be read: ",
    ),
    "duplicate_header.csv": (
        lambda p: p.write_bytes(b"problem,answer,answer\nQ?,1,2\n"),
        r":1: header names \['answer'\] more than once",
    ),
    "bad_header.csv": (
        lambda p: p.write_bytes(b'"problem,answer\nQ?,1\n'),
        r":1: malformed CSV: unexpected end of data",
    ),
    "missing_split": (
        lambda p: _saved_dict(p, ["train", "test"]),
        r": split 'validation' not found \(have: train, test\)",
    ),
    "no_default_split": (
        lambda p: _saved_dict(p, ["dev", "test"]),
        r": choose a split with --split \(have: dev, test\)",
    ),
    "not_a_dataset": (
        lambda p: (p.mkdir(), (p / "state.json").write_text("{")),
        r": not a folder saved by datasets.save_to_disk",
    ),
}


@pytest.mark.parametrize("name", sorted(FATAL))
@pytest.mark.parametrize("mode", ["fail", "skip"])
def test_damage_without_a_record_boundary_fails_in_both_modes(
    lake: Store, tmp_path: Path, name: str, mode: str
) -> None:
    store = lake
    write, message = FATAL[name]
    path = tmp_path / name
    write(path)
    before = store_state(store)
    split = "validation" if name == "missing_split" else None
    config = IngestConfig(source=str(path), name="bad", on_error=mode, split=split)  # type: ignore[arg-type]
    with pytest.raises(IngestError, match=f"^{re.escape(str(path))}{message}") as raised:
        run_ingest(store, config)
    assert "\n" not in str(raised.value)
    assert store_state(store) == before


def test_number_answers_keep_their_text_and_good_text_survives(
    store: Store, tmp_path: Path
) -> None:
    source = tmp_path / "answers.jsonl"
    rows = [
        {"problem": "A?", "answer": 42},
        {"problem": "B?", "answer": 2.5},
        {"problem": "C?", "answer": 42.0},
        {"problem": "D?", "answer": "007"},
        {"problem": "E\u200b?", "answer": "\u200b"},  # an empty optional answer is no answer
        {"problem": "F?\twith a tab\nand a newline", "answer": -3},
        {"problem": "é" * 50, "answer": "1"},  # 50 characters, 100 bytes: within max_chars=50
    ]
    source.write_bytes(jsonl(*rows))
    counts = run_ingest(store, IngestConfig(source=str(source), name="n", max_chars=50))
    assert counts["seeds_inserted"] == len(rows)
    seeds = dict(store.table("seeds").select("problem", "answer").iter_rows())
    assert seeds["A?"] == "42" and seeds["B?"] == "2.5" and seeds["C?"] == "42"
    assert seeds["D?"] == "007" and seeds["E\u200b?"] is None
    assert seeds["F? with a tab and a newline"] == "-3"

    numbers = tmp_path / "numbers.jsonl"  # one kind per column: Arrow's reader, a float column
    numbers.write_bytes(
        jsonl(*[{"problem": f"N{a}?", "answer": a} for a in (42, 2.5, 42.0, 1e300)])
    )
    run_ingest(store, IngestConfig(source=str(numbers), name="numbers"))
    seeds = dict(store.table("seeds").select("problem", "answer").iter_rows())
    assert [seeds[f"N{a}?"] for a in (42, 2.5, 42.0, 1e300)] == ["42", "2.5", "42", "1e+300"]

    ids = tmp_path / "ids.parquet"  # pandas-style ids: integers that became floats beside a null
    pl.DataFrame({"problem": ["I1?", "I2?"], "uid": [7.0, None]}).write_parquet(ids)
    config = IngestConfig(source=str(ids), name="ids", id_field="uid", on_error="skip")
    assert run_ingest(store, config)["rejected"] == 1
    refs = dict(store.table("seeds").select("problem", "source_ref").iter_rows())
    assert refs["I1?"] == "7"


def test_a_bom_at_the_start_of_a_file_is_not_part_of_the_first_record(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfproblem,answer\nQ1?,1\n")
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + jsonl({"problem": "Q2?"}, b"", GOOD))
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([{"problem": "Q3?"}]).encode())
    for name in ("bom.csv", "bom.jsonl", "bom.json"):
        run_ingest(store, IngestConfig(source=str(tmp_path / name), name=name))
    refs = dict(store.table("seeds").select("problem", "source_ref").iter_rows())
    assert set(refs) == {"Q1?", "Q2?", "Q3?", "What is 1+1?"}
    assert refs["What is 1+1?"] == f"{tmp_path / 'bom.jsonl'}:3"  # the blank line still counts


def test_a_reject_keeps_the_record_as_written(store: Store, tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_bytes(jsonl(GOOD, {"problem": 42, "answer": "x"}))
    (tmp_path / "r.csv").write_bytes(b"problem,answer\nQ1?,1\nQ2?\n")
    for name in ("r.jsonl", "r.csv"):
        run_ingest(store, IngestConfig(source=str(tmp_path / name), name=name, on_error="skip"))
    raw = dict(store.table("rejects").select("source", "raw").iter_rows())
    assert raw == {"r.jsonl": '{"problem": 42, "answer": "x"}', "r.csv": "Q2?\n"}


def test_a_whole_column_of_the_wrong_type_is_one_line_with_its_count(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "ints.parquet"
    pl.DataFrame({"question": list(range(1000))}).write_parquet(path)
    with pytest.raises(IngestError) as raised:
        run_ingest(store, IngestConfig(source=str(path), name="ints"))
    assert str(raised.value) == (
        f"{path}#row0: field 'question' is a number (0), expected text "
        "(1000 bad rows; --on-error skip sets them aside in `rejects`)"
    )


def test_a_clean_file_keeps_each_columns_type_and_dates_as_text(tmp_path: Path) -> None:
    from curate.seeds.readers import read_source

    path = tmp_path / "clean.jsonl"
    path.write_bytes(
        jsonl(*[{"problem": f"Q{i}?", "answer": i, "when": "2021-01-01"} for i in range(500)])
    )
    frame = read_source(str(path), split=None, skip_bad=False).frame
    assert frame.schema["answer"] == pl.Int64
    assert frame.schema["when"] == pl.String  # not a timestamp: the text as written
    assert not [c for c in frame.columns if c.startswith(KIND)]
    assert frame[LOC][499] == f"{path}:500"


def test_a_clean_csv_reads_the_same_through_both_csv_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curate.seeds import csv_reader

    path = tmp_path / "clean.csv"
    path.write_bytes(
        b'\xef\xbb\xbfproblem,answer\r\n"Two\r\nlines, and a comma?",1\r\n'
        b'"He said ""hi""",\r\nWhat is 1+1?,2\r\n"Three\nlines\nhere?",3'
    )
    fast = csv_reader.read_csv(path, skip_bad=False).frame
    monkeypatch.setattr(csv_reader, "_read_clean", lambda path, data: None)
    slow = csv_reader.read_csv(path, skip_bad=False).frame
    assert fast.equals(slow)
    assert fast[LOC].to_list() == [f"{path}:{n}" for n in (2, 4, 5, 6)]
    assert fast["answer"].to_list() == ["1", "", "2", "3"]


# --- helpers ------------------------------------------------------------------------------------


def _bad_member() -> bytes:
    """A gzip member whose first deflate block has the reserved type 3."""
    member = bytearray(gzip.compress(b"lost line\n"))
    member[10] |= 0b110
    return bytes(member)


def _noise_lines(count: int) -> bytes:
    """Lines that do not compress, so the stream spans many of the reader's 64 KiB pieces."""
    return jsonl(*[{"problem": random.Random(i).randbytes(24).hex()} for i in range(count)])


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0xFF
    return bytes(out)


def _parquet_bytes(path: Path) -> bytes:
    pl.DataFrame({"problem": ["Q?"] * 100}).write_parquet(path)
    return path.read_bytes()


def _saved_dict(path: Path, splits: list[str]) -> None:
    import datasets

    rows = [{"problem": "Q?"}]
    datasets.DatasetDict({s: datasets.Dataset.from_list(rows) for s in splits}).save_to_disk(
        str(path)
    )
