"""Ingest hardening (issue 15, class 6): every way a row can be broken, for every reader.

Each case is a small source with good rows and broken ones. Under `--on-error fail` the run
fails with one line naming file:line (or row) and field, and the store is unchanged; under
`skip` the broken rows land in `rejects` (location, field, reason, raw excerpt) and the good
ones are ingested. Damage with no record boundary to resume from fails in both modes.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import polars as pl
import pytest
from ingest_cases import CASES, Case, store_state  # tests/curate/ingest_cases.py

from curate.seeds.errors import IngestError
from curate.seeds.ingest import IngestConfig, run_ingest
from store import Store


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fail_names_the_place_and_field_and_changes_nothing(
    lake: Store, tmp_path: Path, case: Case
) -> None:
    store = lake
    source = _write(tmp_path, case)
    before = store_state(store)
    location, field, reason = _expand(case, source)[0]
    where = re.escape(f"{source}{location}")
    named = f"field '{field}' {reason}" if field else reason
    with pytest.raises(IngestError, match=f"^{where}: {named}") as raised:
        run_ingest(store, IngestConfig(source=source, name="bad", **case.config))  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)
    assert store_state(store) == before
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
