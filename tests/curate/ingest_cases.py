"""Broken sources for the ingest tests: every way a row can be broken, for every reader.

Each `Case` is a small source with good rows and broken ones, and what ingest must report for
it (tests/curate/test_ingest_validation.py runs each in both error modes).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from store import Store

GOOD = {"problem": "What is 1+1?", "answer": "2"}


def jsonl(*rows: object) -> bytes:
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
        jsonl(GOOD, {"problem": 42}),
        [(":2", "problem", r"is a number \(42\), expected text")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_float.jsonl",
        jsonl({"problem": 3.5}, GOOD),
        [(":1", "problem", r"is a number \(3\.5\)")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_list.jsonl",
        jsonl(GOOD, {"problem": ["a", "b"]}),
        [(":2", "problem", r'is a list \(\["a", "b"\]\)')],
        ["What is 1+1?"],
    ),
    Case(
        "problem_dict.jsonl",
        jsonl(GOOD, {"problem": {"text": "a"}}),
        [(":2", "problem", r"is an object")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_bool.jsonl",
        jsonl(GOOD, {"problem": True}),
        [(":2", "problem", r"is a boolean \(true\)")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_false_only.jsonl",
        jsonl({"problem": False}),
        [(":1", "problem", r"is a boolean \(false\)")],
        [],
    ),
    Case(
        "problem_null.jsonl",
        jsonl(GOOD, {"problem": None, "answer": "3"}),
        [(":2", "problem", r"is missing or empty")],
        ["What is 1+1?"],
    ),
    Case(
        "problem_nan.jsonl",
        jsonl(GOOD, b'{"problem": NaN}'),
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
        jsonl(GOOD, {"problem": "Q2?", "answer": [1, 2]}),
        [(":2", "answer", r"is a list \(\[1, 2\]\), expected text or a number")],
        ["What is 1+1?"],
    ),
    Case(
        "answer_dict.jsonl",
        jsonl({"problem": "Q2?", "answer": {"v": 1}}, GOOD),
        [(":1", "answer", r"is an object")],
        ["What is 1+1?"],
    ),
    Case(
        "answer_bool.jsonl",
        jsonl(GOOD, {"problem": "Q2?", "answer": False}),
        [(":2", "answer", r"is a boolean \(false\)")],
        ["What is 1+1?"],
    ),
    Case(
        "answer_inf.jsonl",
        jsonl(GOOD, b'{"problem": "Q2?", "answer": -Infinity}'),
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
        jsonl(GOOD, {"problem": "\u200b\u200d\ufeff"}),
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
        jsonl(GOOD, {"problem": "\u2060\u00ad \u2060"}),
        [(":2", "problem", r"is empty: .* \(U\+00AD SOFT HYPHEN, U\+2060 WORD JOINER\)")],
        ["What is 1+1?"],
    ),
    Case(
        "fillers.jsonl",
        jsonl({"problem": "\u3164\u2800"}, GOOD),
        [(":1", "problem", r"is empty: .*U\+2800 BRAILLE PATTERN BLANK, U\+3164 HANGUL FILLER")],
        ["What is 1+1?"],
    ),
    Case(
        "tag_chars.jsonl",
        jsonl(GOOD, {"problem": "\U000e0041\U000e0042"}),
        [(":2", "problem", r"is empty: .*U\+E0041 TAG LATIN CAPITAL LETTER A")],
        ["What is 1+1?"],
    ),
    Case(
        "spaces_only.jsonl",
        jsonl(GOOD, {"problem": "\u00a0\u3000 \t\n"}),
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
        jsonl(GOOD, {"problem": "Q2?", "answer": "\ufeff"}),
        [(":2", "answer", r"is empty: .*U\+FEFF ZERO WIDTH NO-BREAK SPACE")],
        ["What is 1+1?"],
        {"answer_field": "answer"},
    ),
    # --- control characters (tab, newline, carriage return are text) ------------------------
    Case(
        "nul.jsonl",
        jsonl(GOOD, {"problem": "What\u0000 is 2+2?"}),
        [(":2", "problem", r"contains U\+0000 \(NUL\) at character 5")],
        ["What is 1+1?"],
    ),
    Case(
        "form_feed.jsonl",
        jsonl(GOOD, b'{"problem": "Simplify \\frac{1}{2}"}'),
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
        jsonl({"problem": "Red \u001b[31m text"}, GOOD),
        [(":1", "problem", r"contains U\+001B \(ESCAPE\)")],
        ["What is 1+1?"],
    ),
    Case(
        "c1_control.jsonl",
        jsonl(GOOD, {"problem": "Next\u0085line"}),
        [(":2", "problem", r"contains U\+0085")],
        ["What is 1+1?"],
    ),
    Case(
        "del_in_answer.jsonl",
        jsonl(GOOD, {"problem": "Q2?", "answer": "4\u007f"}),
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
        jsonl(GOOD, {"problem": "x" * 5_000_000}),
        [(":2", "problem", r"has 5,000,000 characters, over max_chars=100,000")],
        ["What is 1+1?"],
    ),
    Case(
        "long_answer.jsonl",
        jsonl(GOOD, {"problem": "Q2?", "answer": "9" * 51}),
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
        jsonl(GOOD, [1, 2]),
        [(":2", "", r"expected a JSON object, got an array")],
        ["What is 1+1?"],
    ),
    Case(
        "string_line.jsonl",
        jsonl(GOOD, "just text"),
        [(":2", "", r"expected a JSON object, got a string")],
        ["What is 1+1?"],
    ),
    Case(
        "surrogate.jsonl",
        jsonl(GOOD, b'{"problem": "half \\ud800 pair"}'),
        [(":2", "problem", r"holds an unpaired surrogate escape")],
        ["What is 1+1?"],
    ),
    Case(
        "truncated.jsonl",
        jsonl(GOOD) + b'{"problem": "cut sh',
        [(":2", "", r"malformed JSON: Unterminated string")],
        ["What is 1+1?"],
    ),
    Case(
        "latin1.jsonl",
        jsonl(GOOD, b'{"problem": "caf\xe9?"}'),
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
        jsonl({"problem": "What is 1+1?", "uid": 7.0}, {"problem": "Q2?", "uid": True}),
        [(":2", "uid", r"is a boolean \(true\), expected text or a number")],
        ["What is 1+1?"],
        {"id_field": "uid"},
    ),
    Case(
        "deep_field.jsonl",
        jsonl(GOOD, {"problem": "Q2?", "meta": _nested(70)}),
        [(":2", "meta", r"nests deeper than 64 levels")],
        ["What is 1+1?"],
    ),
    Case(  # Arrow's recursive parser crashes the process on this; Python's json raises
        "very_deep_line.jsonl",
        jsonl(GOOD, b'{"problem": "Q2?", "meta": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
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
        jsonl(GOOD, b'{"problem": ' + b"7" * 5000 + b"}"),
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
            gzip.compress(jsonl(*[{"problem": f"Q{i}?"} for i in range(3000)]))[:6000]
        ),
        [(":{n}", "", r"gzip stream ends early \(truncated file\)")],
        [],
    ),
]


def store_state(store: Store) -> tuple[int, ...]:
    tables = ("seeds", "seed_sources", "rejects")
    return (store.snapshot(), *[store.table(t).height if store.has_table(t) else 0 for t in tables])
