"""Ingest hardening (issue 15, class 6): every way a row can be broken, for every reader.

Each case is a small source with good rows and broken ones. Under `--on-error fail` the run
fails with one line naming file:line (or row) and field, and the store is unchanged; under
`skip` the broken rows land in `rejects` (location, field, reason, raw excerpt) and the good
ones are ingested. Damage with no record boundary to resume from fails in both modes.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from curate.seeds.errors import IngestError
from curate.seeds.ingest import IngestConfig, run_ingest
from store import Store

GOOD = {"problem": "What is 1+1?", "answer": "2"}


def _jsonl(*rows: object) -> bytes:
    """JSON Lines from records (dumped) and raw bytes (kept as written)."""
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows)


def _nested(depth: int) -> object:
    """A list nested `depth` levels deep."""
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _parquet(**columns: pl.Series) -> Callable[[Path], None]:
    return lambda path: pl.DataFrame(columns).write_parquet(path)


def _saved(rows: list[dict[str, object]]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import datasets

        datasets.Dataset.from_list(rows).save_to_disk(str(path))

    return write


@dataclass
class Case:
    name: str  # file name: its suffix picks the reader
    content: bytes | Callable[[Path], None]
    rejects: list[tuple[str, str, str]]  # (location after the path, field, reason regex)
    kept: list[str]  # problems stored in skip mode
    config: dict[str, object] = field(default_factory=dict)


CASES = [
    # --- field types: the problem must be text -------------------------------------------
    Case(
        "problem_number.jsonl",
        _jsonl(GOOD, {"problem": 42}),
        [(":2", "problem", r"is a number \(42\), expected text")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_float.jsonl",
        _jsonl({"problem": 3.5}, GOOD),
        [(":1", "problem", r"is a number \(3\.5\)")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_list.jsonl",
        _jsonl(GOOD, {"problem": ["a", "b"]}),
        [(":2", "problem", r'is a list \(\["a", "b"\]\)')],
        ["What is 1+1?"],
    ),
    Case(
        "problem_dict.jsonl",
        _jsonl(GOOD, {"problem": {"text": "a"}}),
        [(":2", "problem", r"is an object")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_bool.jsonl",
        _jsonl(GOOD, {"problem": True}),
        [(":2", "problem", r"is a boolean \(true\)")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_false_only.jsonl",
        _jsonl({"problem": False}),
        [(":1", "problem", r"is a boolean \(false\)")],
        [],
    ),
    Case(
        "problem_null.jsonl",
        _jsonl(GOOD, {"problem": None, "answer": "3"}),
        [(":2", "problem", r"is missing or empty")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_nan.jsonl",
        _jsonl(GOOD, b'{"problem": NaN}'),
        [(":2", "problem", r"is NaN or infinite")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_types.json",
        json.dumps([GOOD, {"problem": 7}, {"problem": [1]}]).encode(),
        [("[1]", "problem", r"is a number \(7\)"), ("[2]", "problem", r"is a list")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_int.parquet",
        _parquet(problem=pl.Series([1, 2])),
        [("#row0", "problem", r"is a number \(1\)"), ("#row1", "problem", r"is a number \(2\)")],
        [],
    ),
    Case(
        "problem_list.parquet",
        _parquet(problem=pl.Series([["a"], ["b"]])),
        [("#row0", "problem", r'is a list \(\["a"\]\)'), ("#row1", "problem", r"is a list")],
        [],
    ),
    Case(
        "problem_struct.parquet",
        _parquet(problem=pl.Series([{"t": "a"}])),
        [("#row0", "problem", r'is an object \(\{"t": "a"\}\)')],
        [],
    ),
    Case(
        "problem_binary.parquet",
        _parquet(problem=pl.Series([b"What?"])),
        [("#row0", "problem", r"is bytes, not text")],
        [],
    ),
    Case(
        "problem_null_saved",
        _saved([{"problem": "Fine?"}, {"problem": None}]),
        [("#1", "problem", r"is missing or empty")],
        ["Fine?"],
    ),
    Case(
        "problem_int_saved", _saved([{"problem": 5}]), [("#0", "problem", r"is a number \(5\)")], []
    ),
    # --- answers: text or a number (kept as its text); not a bool, list, object, NaN --------
    Case(
        "answer_list.jsonl",
        _jsonl(GOOD, {"problem": "Q2?", "answer": [1, 2]}),
        [(":2", "answer", r"is a list \(\[1, 2\]\), expected text or a number")],
        ["What is 1+1?"],
    ),
    Case(
        "answer_dict.jsonl",
        _jsonl({"problem": "Q2?", "answer": {"v": 1}}, GOOD),
        [(":1", "answer", r"is an object")],
        ["What is 1+1?"],
    ),
    Case(
        "answer_bool.jsonl",
        _jsonl(GOOD, {"problem": "Q2?", "answer": False}),
        [(":2", "answer", r"is a boolean \(false\)")],
        ["What is 1+1?"],
    ),
    Case(
        "answer_inf.jsonl",
        _jsonl(GOOD, b'{"problem": "Q2?", "answer": -Infinity}'),
        [(":2", "answer", r"is NaN or infinite \(-Infinity\)")],
        ["What is 1+1?"],
    ),
    Case(
        "answer_nan.parquet",
        _parquet(problem=pl.Series(["A?", "B?"]), answer=pl.Series([1.5, float("nan")])),
        [("#row1", "answer", r"is NaN or infinite \(NaN\)")],
        ["A?"],
    ),
    Case(
        "answer_list.parquet",
        _parquet(problem=pl.Series(["A?"]), answer=pl.Series([[1]])),
        [("#row0", "answer", r"is a list")],
        [],
    ),
    # --- invisible-only text -----------------------------------------------------------------
    Case(
        "zero_width.jsonl",
        _jsonl(GOOD, {"problem": "\u200b\u200d\ufeff"}),
        [
            (
                ":2",
                "problem",
                r"is empty: only whitespace and invisible characters \(U\+200B ZERO WIDTH SPACE, "
                r"U\+200D",
            )
        ],
        ["What is 1+1?"],
    ),
    Case(
        "joiners.jsonl",
        _jsonl(GOOD, {"problem": "\u2060\u00ad \u2060"}),
        [(":2", "problem", r"is empty: .* \(U\+00AD SOFT HYPHEN, U\+2060 WORD JOINER\)")],
        ["What is 1+1?"],
    ),
    Case(
        "fillers.jsonl",
        _jsonl({"problem": "\u3164\u2800"}, GOOD),
        [(":1", "problem", r"is empty: .*U\+2800 BRAILLE PATTERN BLANK, U\+3164 HANGUL FILLER")],
        ["What is 1+1?"],
    ),
    Case(
        "tag_chars.jsonl",
        _jsonl(GOOD, {"problem": "\U000e0041\U000e0042"}),
        [(":2", "problem", r"is empty: .*U\+E0041 TAG LATIN CAPITAL LETTER A")],
        ["What is 1+1?"],
    ),
    Case(
        "spaces_only.jsonl",
        _jsonl(GOOD, {"problem": "\u00a0\u3000 \t\n"}),
        [(":2", "problem", r"is missing or empty")],
        ["What is 1+1?"],
    ),
    Case(
        "zero_width.csv",
        "problem,answer\nWhat is 1+1?,2\n\u200b\u200c,3\n".encode(),
        [(":3", "problem", r"is empty: .*U\+200B ZERO WIDTH SPACE, U\+200C ZERO WIDTH NON-JOINER")],
        ["What is 1+1?"],
    ),
    Case(
        "blank_required_answer.jsonl",
        _jsonl(GOOD, {"problem": "Q2?", "answer": "\ufeff"}),
        [(":2", "answer", r"is empty: .*U\+FEFF ZERO WIDTH NO-BREAK SPACE")],
        ["What is 1+1?"],
        {"answer_field": "answer"},
    ),
    # --- control characters (tab, newline, carriage return are text) ------------------------
    Case(
        "nul.jsonl",
        _jsonl(GOOD, {"problem": "What\u0000 is 2+2?"}),
        [(":2", "problem", r"contains U\+0000 \(NUL\) at character 5")],
        ["What is 1+1?"],
    ),
    Case(
        "form_feed.jsonl",
        _jsonl(GOOD, b'{"problem": "Simplify \\frac{1}{2}"}'),
        [
            (
                ":2",
                "problem",
                r"contains U\+000C \(FORM FEED, an unescaped \\f in JSON\?\) at character 10",
            )
        ],
        ["What is 1+1?"],
    ),
    Case(
        "escape.jsonl",
        _jsonl({"problem": "Red \u001b[31m text"}, GOOD),
        [(":1", "problem", r"contains U\+001B \(ESCAPE\)")],
        ["What is 1+1?"],
    ),
    Case(
        "c1_control.jsonl",
        _jsonl(GOOD, {"problem": "Next\u0085line"}),
        [(":2", "problem", r"contains U\+0085")],
        ["What is 1+1?"],
    ),
    Case(
        "del_in_answer.jsonl",
        _jsonl(GOOD, {"problem": "Q2?", "answer": "4\u007f"}),
        [(":2", "answer", r"contains U\+007F")],
        ["What is 1+1?"],
    ),
    Case(
        "nul.csv",
        b"problem,answer\nWhat is 1+1?,2\nbad\x00cell,3\n",
        [(":3", "problem", r"contains U\+0000 \(NUL\) at character 4")],
        ["What is 1+1?"],
    ),
    Case(
        "nul.parquet",
        _parquet(problem=pl.Series(["A?", "B\x00?"])),
        [("#row1", "problem", r"contains U\+0000")],
        ["A?"],
    ),
    # --- over-long text ----------------------------------------------------------------------
    Case(
        "five_mb.jsonl",
        _jsonl(GOOD, {"problem": "x" * 5_000_000}),
        [(":2", "problem", r"has 5,000,000 characters, over max_chars=100,000")],
        ["What is 1+1?"],
    ),
    Case(
        "long_answer.jsonl",
        _jsonl(GOOD, {"problem": "Q2?", "answer": "9" * 51}),
        [(":2", "answer", r"has 51 characters, over max_chars=50")],
        ["What is 1+1?"],
        {"max_chars": 50},
    ),
    Case(
        "long_id.csv",
        b"problem,uid\nWhat is 1+1?,a\nQ2?," + b"i" * 60 + b"\n",
        [(":3", "uid", r"has 60 characters, over max_chars=50")],
        ["What is 1+1?"],
        {"max_chars": 50, "id_field": "uid"},
    ),
    # --- JSON Lines rows that are not records -------------------------------------------------
    Case(
        "array_line.jsonl",
        _jsonl(GOOD, [1, 2]),
        [(":2", "", r"expected a JSON object, got an array")],
        ["What is 1+1?"],
    ),
    Case(
        "string_line.jsonl",
        _jsonl(GOOD, "just text"),
        [(":2", "", r"expected a JSON object, got a string")],
        ["What is 1+1?"],
    ),
    Case(
        "surrogate.jsonl",
        _jsonl(GOOD, b'{"problem": "half \\ud800 pair"}'),
        [(":2", "problem", r"holds an unpaired surrogate escape")],
        ["What is 1+1?"],
    ),
    Case(
        "truncated.jsonl",
        _jsonl(GOOD) + b'{"problem": "cut sh',
        [(":2", "", r"malformed JSON: Unterminated string")],
        ["What is 1+1?"],
    ),
    Case(
        "latin1.jsonl",
        _jsonl(GOOD, b'{"problem": "caf\xe9?"}'),
        [(":2", "", r"not valid UTF-8 \(byte 0xe9 at column 17\)")],
        ["What is 1+1?"],
    ),
    Case(
        "not_objects.json",
        json.dumps([GOOD, 3, "x"]).encode(),
        [("[1]", "", r"expected a JSON object, got a number"), ("[2]", "", r"got a string")],
        ["What is 1+1?"],
    ),
    Case(
        "id_bool.jsonl",
        _jsonl({"problem": "What is 1+1?", "uid": 7.0}, {"problem": "Q2?", "uid": True}),
        [(":2", "uid", r"is a boolean \(true\), expected text or a number")],
        ["What is 1+1?"],
        {"id_field": "uid"},
    ),
    Case(
        "deep_field.jsonl",
        _jsonl(GOOD, {"problem": "Q2?", "meta": _nested(70)}),
        [(":2", "meta", r"nests deeper than 64 levels")],
        ["What is 1+1?"],
    ),
    Case(  # Arrow's recursive parser crashes the process on this; Python's json raises
        "very_deep_line.jsonl",
        _jsonl(GOOD, b'{"problem": "Q2?", "meta": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
        [(":2", "", r"nested deeper than 64 levels")],
        ["What is 1+1?"],
    ),
    Case(
        "deep_element.json",
        json.dumps([GOOD, {"problem": {"a": _nested(80)}}]).encode(),
        [("[1]", "problem", r"nests deeper than 64 levels")],
        ["What is 1+1?"],
    ),
    Case(
        "huge_integer.jsonl",
        _jsonl(GOOD, b'{"problem": ' + b"7" * 5000 + b"}"),
        [(":2", "", r"malformed JSON: Exceeds the limit \(4300 digits\)")],
        ["What is 1+1?"],
    ),
    # --- CSV: ragged rows, quoting, bytes -----------------------------------------------------
    Case(
        "long_row.csv",
        b"problem,answer\nWhat is 1+1?,2\nQ2?,3,extra\n",
        [(":3", "", r"row has 3 cells, the header has 2")],
        ["What is 1+1?"],
    ),
    Case(
        "short_row.csv",
        b"problem,answer\nWhat is 1+1?,2\nQ2?\n",
        [(":3", "answer", r"is missing: the row has 1 of the header's 2 cells")],
        ["What is 1+1?"],
    ),
    Case(
        "ragged_after_quoted_newlines.csv",
        b'problem,answer\n"Two\nline problem?",2\n"Three\nline\nproblem?",3\n'
        b"Q4?,4,4,4\nQ5?\nWhat is 1+1?,2\n",
        [(":7", "", r"row has 4 cells"), (":8", "answer", r"is missing")],
        ["Two line problem?", "Three line problem?", "What is 1+1?"],
    ),
    Case(
        "crlf.csv",
        b'problem,answer\r\n"Multi\r\nline?",1\r\n\r\nshort\r\nWhat is 1+1?,2\r\n',
        [(":5", "answer", r"is missing")],
        ["Multi line?", "What is 1+1?"],
    ),
    Case(
        "unterminated.csv",
        b'problem,answer\nWhat is 1+1?,2\n"never closed,3\nQ4?,4\n',
        [(":3", "", r"malformed CSV: unexpected end of data")],
        ["What is 1+1?"],
    ),
    Case(
        "stray_quote.csv",
        b'problem,answer\n"Q1?"x,1\nWhat is 1+1?,2\n',
        [(":2", "", r"malformed CSV: ',' expected after '\"'")],
        ["What is 1+1?"],
    ),
    Case(
        "latin1.csv",
        b"problem,answer\nWhat is 1+1?,2\ncaf\xe9?,3\n",
        [(":3", "problem", r"is not valid UTF-8 \(byte 0xe9\)")],
        ["What is 1+1?"],
    ),
    Case(
        "empty_cell.csv",
        b"problem,answer\nWhat is 1+1?,2\n,3\n",
        [(":3", "problem", r"is missing or empty")],
        ["What is 1+1?"],
    ),
    # --- compressed streams that stop early keep what came before --------------------------
    Case(
        "truncated.jsonl.gz",
        lambda p: p.write_bytes(
            gzip.compress(_jsonl(*[{"problem": f"Q{i}?"} for i in range(3000)]))[:6000]
        ),
        [(":{n}", "", r"gzip stream ends early \(truncated file\)")],
        [],
    ),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for the case tables (opening a store costs more than a case): each case has
    its own source name, and checks the store's state around its own run."""
    root = tmp_path_factory.mktemp("lake")
    (root / "seed.jsonl").write_bytes(_jsonl({"problem": "Seeded before?"}))
    with Store.open(root / "store", lock_timeout_s=2) as opened:
        run_ingest(opened, IngestConfig(source=str(root / "seed.jsonl"), name="seed"))
        yield opened


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fail_names_the_place_and_field_and_changes_nothing(
    lake: Store, tmp_path: Path, case: Case
) -> None:
    store = lake
    source = _write(tmp_path, case)
    before = _state(store)
    location, field, reason = _expand(case, source)[0]
    where = re.escape(f"{source}{location}")
    named = f"field '{field}' {reason}" if field else reason
    with pytest.raises(IngestError, match=f"^{where}: {named}") as raised:
        run_ingest(store, IngestConfig(source=source, name="bad", **case.config))  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)
    assert _state(store) == before
    assert store.runs().row(-1, named=True)["status"] == "failed"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_skip_sets_bad_rows_aside_and_ingests_the_good(
    lake: Store, tmp_path: Path, case: Case
) -> None:
    store, name = lake, f"{case.name}/skip"
    source = _write(tmp_path, case)
    config = IngestConfig(source=source, name=name, on_error="skip", **case.config)  # type: ignore[arg-type]
    counts = run_ingest(store, config)
    expected = _expand(case, source)
    rejects = store.table("rejects").filter(pl.col("source") == name)
    got = sorted(rejects.select("location", "field", "reason", "raw").rows(), key=_order)
    assert [(loc, fld) for loc, fld, _, _ in got] == [
        (f"{source}{loc}", f) for loc, f, _ in expected
    ]
    for (_, _, reason, raw), (_, _, pattern) in zip(got, expected, strict=True):
        assert re.search(pattern, reason), reason
        assert raw and len(raw) <= 500 and "\x00" not in raw
    assert counts["rejected"] == len(expected)
    ids = store.table("seed_sources").filter(pl.col("source") == name)["seed_id"]
    kept = store.table("seeds").filter(pl.col("seed_id").is_in(ids.implode()))["problem"]
    if case.name == "truncated.jsonl.gz":  # every whole line before the cut, nothing after it
        cut = int(expected[0][0].removeprefix(":"))
        assert set(kept) == {f"Q{i}?" for i in range(cut - 1)}
    else:
        assert sorted(kept.to_list()) == sorted(case.kept)


FATAL = {
    "bad_deflate.jsonl.gz": (
        lambda p: p.write_bytes(gzip.compress(_jsonl(GOOD) * 50) + _bad_member()),
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
        lambda p: p.write_bytes(_jsonl(GOOD)),
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
    before = _state(store)
    split = "validation" if name == "missing_split" else None
    config = IngestConfig(source=str(path), name="bad", on_error=mode, split=split)  # type: ignore[arg-type]
    with pytest.raises(IngestError, match=f"^{re.escape(str(path))}{message}") as raised:
        run_ingest(store, config)
    assert "\n" not in str(raised.value)
    assert _state(store) == before


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
    source.write_bytes(_jsonl(*rows))
    counts = run_ingest(store, IngestConfig(source=str(source), name="n", max_chars=50))
    assert counts["seeds_inserted"] == len(rows)
    seeds = dict(store.table("seeds").select("problem", "answer").iter_rows())
    assert seeds["A?"] == "42" and seeds["B?"] == "2.5" and seeds["C?"] == "42"
    assert seeds["D?"] == "007" and seeds["E\u200b?"] is None
    assert seeds["F? with a tab and a newline"] == "-3"

    numbers = tmp_path / "numbers.jsonl"  # one kind per column: Arrow's reader, a float column
    numbers.write_bytes(
        _jsonl(*[{"problem": f"N{a}?", "answer": a} for a in (42, 2.5, 42.0, 1e300)])
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
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + _jsonl({"problem": "Q2?"}, b"", GOOD))
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([{"problem": "Q3?"}]).encode())
    for name in ("bom.csv", "bom.jsonl", "bom.json"):
        run_ingest(store, IngestConfig(source=str(tmp_path / name), name=name))
    refs = dict(store.table("seeds").select("problem", "source_ref").iter_rows())
    assert set(refs) == {"Q1?", "Q2?", "Q3?", "What is 1+1?"}
    assert refs["What is 1+1?"] == f"{tmp_path / 'bom.jsonl'}:3"  # the blank line still counts


def test_a_reject_keeps_the_record_as_written(store: Store, tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_bytes(_jsonl(GOOD, {"problem": 42, "answer": "x"}))
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
        _jsonl(*[{"problem": f"Q{i}?", "answer": i, "when": "2021-01-01"} for i in range(500)])
    )
    frame = read_source(str(path), split=None, skip_bad=False).frame
    assert frame.schema["answer"] == pl.Int64
    assert frame.schema["when"] == pl.String  # not a timestamp: the text as written
    assert not [c for c in frame.columns if c.startswith("_kind:")]
    assert frame["_loc"][499] == f"{path}:500"


# --- helpers ------------------------------------------------------------------------------------


def _write(directory: Path, case: Case) -> str:
    path = directory / case.name
    if callable(case.content):
        case.content(path)
    else:
        path.write_bytes(case.content)
    return str(path)


def _expand(case: Case, source: str) -> list[tuple[str, str, str]]:
    """The case's rejects; for the truncated stream, the line is where the kept part ends."""
    if "{n}" not in case.rejects[0][0]:
        return case.rejects
    data = zlib.decompressobj(wbits=31).decompress(Path(source).read_bytes())  # no trailer
    line = data.count(b"\n") + 1
    return [(f":{line}", *case.rejects[0][1:])]


def _order(row: tuple[str, ...]) -> tuple[int, str]:
    numbers = re.findall(r"\d+", row[0].rsplit("/", 1)[-1])
    return (int(numbers[-1]) if numbers else -1, row[1])


def _state(store: Store) -> tuple[int, ...]:
    tables = ("seeds", "seed_sources", "rejects")
    return (store.snapshot(), *[store.table(t).height if store.has_table(t) else 0 for t in tables])


def _bad_member() -> bytes:
    """A gzip member whose first deflate block has the reserved type 3."""
    member = bytearray(gzip.compress(b"lost line\n"))
    member[10] |= 0b110
    return bytes(member)


def _noise_lines(count: int) -> bytes:
    """Lines that do not compress, so the stream spans many of the reader's 64 KiB pieces."""
    return _jsonl(*[{"problem": random.Random(i).randbytes(24).hex()} for i in range(count)])


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
    assert fast["_loc"].to_list() == [f"{path}:{n}" for n in (2, 4, 5, 6)]
    assert fast["answer"].to_list() == ["1", "", "2", "3"]
