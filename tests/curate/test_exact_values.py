"""Values arrive exactly as written (issue 23, class 1): integers past 2**53 keep their digits
whatever the other lines hold, the reader's own marker columns cannot be forged by a source
field (JSONL, JSON, CSV, Parquet), a negative level keeps its sign, and a benchmark file given
to `eval` is read by the same contract as ingest (file:line, field, kinds)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from ingest_cases import jsonl  # tests/curate/ingest_cases.py

from curate.evaluation.items import registry_benchmark
from curate.seeds.errors import IngestError
from curate.seeds.ingest import IngestConfig, run_ingest
from store import Store

BIG = [2**63, 2**53 + 1, -(2**63) - 1, 2**70, 12345678901234567890123]


def _answers(store: Store, source: str) -> dict[str, str]:
    rows = store.sql("SELECT problem, answer, source_ref FROM seeds WHERE source = ?", [source])
    return dict(zip(rows["problem"], rows["answer"], strict=True))


@pytest.mark.parametrize("blank", [False, True])
@pytest.mark.parametrize("field", ["answer", "id"])
def test_big_integers_keep_their_digits_whatever_the_other_lines(
    lake: Store, tmp_path: Path, blank: bool, field: str
) -> None:
    rows = [{"problem": f"Big {i} {field} {blank}?", "answer": 1, "id": i} for i in range(len(BIG))]
    for row, value in zip(rows, BIG, strict=True):
        row[field] = value
    data = jsonl(*rows)
    if blank:  # a blank line once switched the reader to another path
        data = data.replace(b"\n", b"\n\n", 1)
    source = f"big-{field}-{blank}"
    path = tmp_path / f"{source}.jsonl"
    path.write_bytes(data)
    config = IngestConfig(source=str(path), name=source, id_field="id", answer_field="answer")
    run_ingest(lake, config)
    stored = lake.sql(
        "SELECT problem, answer, source_ref FROM seeds WHERE source = ?", [source]
    ).sort("problem")
    column = "answer" if field == "answer" else "source_ref"
    assert stored[column].to_list() == [str(v) for v in BIG]


def test_a_big_integer_in_a_float_column_is_not_rounded(lake: Store, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        jsonl({"problem": "A?", "answer": 2.5}, {"problem": "B?", "answer": 9007199254740993})
    )
    run_ingest(lake, IngestConfig(source=str(path), name="mixed-float"))
    assert _answers(lake, "mixed-float") == {"A?": "2.5", "B?": "9007199254740993"}


@pytest.mark.parametrize("forged", ["_kind:problem", "_loc", "_kind:answer", "\u0000kind:problem"])
@pytest.mark.parametrize("suffix", ["jsonl", "parquet", "csv", "json"])
def test_a_source_field_cannot_forge_the_readers_markers(
    lake: Store, tmp_path: Path, forged: str, suffix: str
) -> None:
    path = tmp_path / f"forged.{suffix}"
    rows = [{"problem": 42, forged: "text"}, {"problem": 7, forged: "text"}]
    if suffix == "csv":  # every CSV cell is text: forge a location or kind of another field
        rows = [{"problem": f"Q {forged}?", "answer": "1", forged: "integer"}]
    if suffix == "jsonl":
        path.write_bytes(jsonl(*rows))
    elif suffix == "json":
        path.write_text(json.dumps(rows))
    elif suffix == "parquet":
        pl.DataFrame(rows).write_parquet(path)
    else:
        pl.DataFrame(rows).write_csv(path)
    name = f"forged-{suffix}-{abs(hash(forged))}"
    config = IngestConfig(source=str(path), name=name)
    if "\u0000" in forged:
        with pytest.raises(IngestError, match="control character"):
            run_ingest(lake, config)
        return
    if suffix == "csv":
        run_ingest(lake, config)
        refs = lake.sql("SELECT source_ref FROM seeds WHERE source = ?", [name])
        assert refs["source_ref"].to_list() == [f"{path}:2"]  # the real location, not forged
        return
    with pytest.raises(IngestError, match="problem' is a number"):
        run_ingest(lake, config)  # the number 42 is never taken for the text "42"


@pytest.mark.parametrize(
    ("level", "stored"), [(-2, -2), ("-3", -3), ("Level -1", -1), ("Level 4", 4), (0, 0)]
)
def test_a_level_keeps_its_sign(lake: Store, tmp_path: Path, level: object, stored: int) -> None:
    path = tmp_path / "levels.jsonl"
    path.write_bytes(jsonl({"problem": f"Level {level!r}?", "level": level}))
    source = f"level-{abs(hash(repr(level)))}"
    run_ingest(lake, IngestConfig(source=str(path), name=source))
    got = lake.sql("SELECT level FROM seeds WHERE source = ?", [source])
    assert got["level"].to_list() == [stored]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "a", "problem": 42, "answer": "1"}], r":1: field 'problem' is a number"),
        (
            [
                {"id": "a", "problem": "Q?", "answer": "1"},
                {"id": "b", "problem": "R?", "answer": [1, 2]},
            ],
            r":2: field 'answer' is a list",
        ),
        ([{"id": "a", "problem": "Q?", "answer": "1"}, b"{not json"], r":2: malformed JSON"),
        ([{"id": "a", "problem": "Q?", "answer": True}], r":1: field 'answer' is a boolean"),
        ([{"id": "a", "question": "Q?", "answer": "1"}], r"field 'problem'.*missing"),
        (
            [{"id": "a", "problem": "Q?", "answer": "1"}, {"id": None, "problem": "R?"}],
            r":2: field 'id'",
        ),
    ],
)
def test_a_benchmark_file_is_read_by_the_ingest_contract(
    tmp_path: Path, rows: list[object], message: str
) -> None:
    path = tmp_path / "bench.jsonl"
    path.write_bytes(jsonl(*rows))
    with pytest.raises(IngestError, match=message):
        registry_benchmark(str(path), None, None)


def test_a_benchmark_file_keeps_values_as_written(tmp_path: Path) -> None:
    path = tmp_path / "bench.jsonl"
    path.write_bytes(
        jsonl(
            {"id": 7, "problem": "Q?", "answer": 2**63},
            {"id": "b", "problem": "R?", "answer": "x^2"},
        )
    )
    items = registry_benchmark(str(path), None, None).items
    assert items["item_id"].to_list() == ["7", "b"]
    assert items["answer"].to_list() == [str(2**63), "x^2"]
    path.write_bytes(jsonl({"problem": "Q?", "answer": 1}, {"problem": "R?", "answer": 2.0}))
    items = registry_benchmark(str(path), None, None).items
    assert items["item_id"].to_list() == ["bench-0", "bench-1"]  # no id field: row ids
    assert items["answer"].to_list() == ["1", "2"]


def test_one_file_under_several_spellings_is_one_set_of_source_rows(
    lake: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Provenance stays one row per source row (issue 23, class 9)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.jsonl").write_bytes(jsonl(*[{"problem": f"Spelled {i}?"} for i in range(4)]))
    (tmp_path / "alias").symlink_to(data, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for spelling in ("data/good.jsonl", "./data/../data/good.jsonl", str(data / "good.jsonl"),
                     "alias/good.jsonl"):  # fmt: skip
        run_ingest(lake, IngestConfig(source=spelling, name="spelled"))
    rows = lake.sql("SELECT source_ref FROM seed_sources WHERE source = 'spelled'")
    assert rows.height == 4
    assert set(rows["source_ref"]) == {f"{data / 'good.jsonl'}:{n}" for n in range(1, 5)}
