"""Ingest streams its source in batches (issue 23, class 8), and every contract of a whole-file
ingest holds across batch boundaries: the same seeds, provenance rows, rejects and counts,
locations that run on, exact integers, dedup of seeds by key, errors naming file and line,
nothing landed on failure, nothing added by a re-run. The batches here are a few kilobytes so
that a small file crosses many boundaries; the 200 MB probe is in test_ingest_memory.py."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import store.run as run_module
from curate.seeds import readers
from curate.seeds.errors import IngestError
from curate.seeds.ingest import IngestConfig, run_ingest
from curate.seeds.records import LOC
from store import Store

BATCH = 4096


def _lines(n: int = 600) -> list[str]:
    """Records with duplicates far apart, mixed answer kinds, an exact big integer, blank lines,
    a level, and (with skip) a few bad lines."""
    out = []
    for i in range(n):
        problem = f"Problem {i % 450}: what is {i % 450} + 1? " + "pad " * (i % 450 % 7)
        answer: object = i % 450 + 1 if i % 3 else str(i % 450 + 1)
        if i == 321:
            answer = 9223372036854775808  # past 2**53: kept exactly
        out.append(json.dumps({"problem": problem, "answer": answer, "level": i % 5 - 1}))
        if i % 97 == 0:
            out.append("")  # a blank line: numbering must still count it
        if i % 151 == 5:
            out.append('{"problem": "broken"')  # malformed: a reject with its line
    return out


def _write(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def _tables(lake: Store) -> dict[str, list[tuple]]:
    out = {}
    for name in ("seeds", "seed_sources", "rejects"):
        frame = lake.table(name).drop("run_id")
        out[name] = sorted(frame.rows(), key=repr)
    return out


_COUNTS = ("rows_read", "seeds_inserted", "seed_sources_inserted", "duplicates_in_source")


@pytest.mark.parametrize("name", ["s.jsonl", "s.jsonl.gz"])
def test_streamed_ingest_lands_what_a_whole_file_ingest_lands(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / name, _lines())
    results = []
    for batch, spill in ((None, 1 << 40), (2 * BATCH, 0)):  # the whole file; ~8 batches
        monkeypatch.setattr(readers, "BATCH_BYTES", batch)
        monkeypatch.setattr(run_module, "SPILL_BYTES", spill)  # spilled inserts, too
        with Store.open(tmp_path / f"lake-{batch}") as lake:
            counts = run_ingest(lake, IngestConfig(source=str(path), name="s", on_error="skip"))
            results.append(({k: counts[k] for k in (*_COUNTS, "rejected")}, _tables(lake)))
            again = run_ingest(lake, IngestConfig(source=str(path), name="s", on_error="skip"))
            assert again["seeds_inserted"] == again["seed_sources_inserted"] == 0
    (whole, whole_tables), (streamed, streamed_tables) = results
    assert whole == streamed
    assert whole["seeds_inserted"] == 450 and whole["duplicates_in_source"] == 150
    assert whole_tables == streamed_tables
    answers = {row[5] for row in streamed_tables["seeds"]}
    assert "9223372036854775808" in answers  # exact, whichever batch holds it


def test_batches_are_bounded_and_locations_run_on(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", _lines())
    batches = list(readers.iter_source(str(path), split=None, skip_bad=True, batch_bytes=BATCH))
    assert len(batches) > 10
    longest = max(len(line) for line in _lines()) + 1
    locs: list[str] = []
    for batch in batches:
        lines = [int(loc.rsplit(":", 1)[1]) for loc in batch.frame[LOC]]
        lines += [int(r.location.rsplit(":", 1)[1]) for r in batch.rejects]
        span = (max(lines) - min(lines) + 1) * longest
        assert span <= 2 * BATCH + longest  # a batch holds about BATCH bytes of source
        locs += batch.frame[LOC].to_list()
    text = path.read_text().split("\n")
    assert all(json.loads(text[int(loc.rsplit(":", 1)[1]) - 1]) for loc in locs)
    assert len(locs) == len(set(locs)) == 600


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_bad_line_in_a_late_batch_fails_naming_its_line_and_lands_nothing(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    monkeypatch.setattr(readers, "BATCH_BYTES", BATCH)
    monkeypatch.setattr(run_module, "SPILL_BYTES", 0)
    lines = [json.dumps({"problem": f"Q{i}", "answer": i}) for i in range(400)]
    lines[350] = json.dumps({"problem": f"Q{350}", "answer": [1, 2]})
    path = _write(tmp_path / f"s{suffix}", lines)
    before = store.snapshot()
    with pytest.raises(IngestError, match=rf"^{path}:351: field 'answer' is a list"):
        run_ingest(store, IngestConfig(source=str(path), name="s"))
    assert store.snapshot() == before and not store.has_table("seeds")


def test_a_preferred_field_that_appears_only_later_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    monkeypatch.setattr(readers, "BATCH_BYTES", BATCH)
    lines = [json.dumps({"question": f"Q{i}?", "answer": i}) for i in range(300)]
    lines.append(json.dumps({"problem": "P?", "answer": 1}))
    path = _write(tmp_path / "s.jsonl", lines)
    with pytest.raises(IngestError, match=r":301: field 'problem' first appears here.*--problem"):
        run_ingest(store, IngestConfig(source=str(path), name="s"))
    # naming the field makes the choice explicit: the late record lacks it and is rejected
    counts = run_ingest(
        store, IngestConfig(source=str(path), name="s", problem_field="question", on_error="skip")
    )
    assert counts["seeds_inserted"] == 300 and counts["rejected"] == 1


def test_limit_counts_across_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "BATCH_BYTES", BATCH)
    path = _write(tmp_path / "s.jsonl", [json.dumps({"problem": f"Q{i}"}) for i in range(900)])
    with Store.open(tmp_path / "lake") as lake:
        counts = run_ingest(lake, IngestConfig(source=str(path), name="s", limit=777))
        assert counts["seeds_inserted"] == counts["rows_read"] == 777
        assert lake.table("seeds")["source_ref"].str.ends_with(":777").sum() == 1


def test_parquet_is_read_in_record_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.parquet"
    table = pa.table({"problem": [f"Problem {i} " + "x" * 50 for i in range(2000)]})
    pq.write_table(table, path, row_group_size=500)
    batches = list(readers.iter_source(str(path), split=None, skip_bad=False, batch_bytes=BATCH))
    assert len(batches) > 20 and max(b.frame.height for b in batches) < 500
    locs = pl.concat([b.frame[LOC] for b in batches])
    assert locs.to_list() == [f"{path}#row{i}" for i in range(2000)]
    whole = readers.read_source(str(path), split=None, skip_bad=False).frame  # eval's reader
    assert whole[LOC].to_list() == locs.to_list()
    monkeypatch.setattr(readers, "BATCH_BYTES", BATCH)
    with Store.open(tmp_path / "lake") as lake:
        assert run_ingest(lake, IngestConfig(source=str(path), name="p"))["seeds_inserted"] == 2000


@pytest.mark.parametrize("fmt", ["dataset", "json"])
def test_dataset_folders_and_json_documents_come_in_batches(fmt: str, tmp_path: Path) -> None:
    rows = [{"problem": f"Problem {i} " + "y" * 40, "answer": str(i)} for i in range(1500)]
    if fmt == "dataset":
        import datasets

        path, prefix = tmp_path / "d", f"{tmp_path / 'd'}#"
        datasets.Dataset.from_list(rows).save_to_disk(str(path))
        expected = [f"{prefix}{i}" for i in range(1500)]
    else:
        path = tmp_path / "d.json"
        path.write_text(json.dumps(rows))
        expected = [f"{path}[{i}]" for i in range(1500)]
    batches = list(readers.iter_source(str(path), split=None, skip_bad=False, batch_bytes=BATCH))
    assert len(batches) > 10
    assert pl.concat([b.frame[LOC] for b in batches]).to_list() == expected


def _csv_rows(n: int = 500) -> list[str]:
    """Rows with quoted commas and newlines, doubled quotes, empty quoted cells, duplicates far
    apart; the damage below is spliced in at chosen rows."""
    out = []
    for i in range(n):
        problem = f'"Problem {i % 400}, with a comma\nand a second line, ""quoted"" here"'
        out.append(f'{problem},{i % 400 + 1},""' if i % 5 else f"Problem {i % 400} plain,{i},x")
    return out


_DAMAGE = {
    "clean": {},
    "ragged": {120: "only one cell", 333: "a,b,c,d"},
    "stray_quote_late": {450: 'Problem 5"x, 7, y'},  # a literal quote: the rest is one block
    "stray_quote_early": {30: 'He said 5" tall,1,z'},
    "lone_cr": {200: "Problem cr\rsplit,1,z"},
    "blank_lines": {100: "", 101: "", 300: ""},
}


@pytest.mark.parametrize("damage", sorted(_DAMAGE))
def test_streamed_csv_reads_what_the_whole_file_reads(damage: str, tmp_path: Path) -> None:
    rows = _csv_rows()
    for index, line in _DAMAGE[damage].items():
        rows[index] = line
    path = tmp_path / "s.csv"
    path.write_bytes(("problem,answer,note\n" + "\n".join(rows) + "\n").encode())
    results = []
    for batch in (None, BATCH):
        batches = list(readers.iter_source(str(path), split=None, skip_bad=True, batch_bytes=batch))
        frame = pl.concat([b.frame for b in batches], how="diagonal_relaxed")
        rejects = [(r.location, r.field, r.reason) for b in batches for r in b.rejects]
        results.append((len(batches), frame.rows(), rejects))
    (one, whole, whole_rejects), (many, streamed, streamed_rejects) = results
    # past a literal quote or a lone CR (rows 30, 200) the rest of the file is one block
    assert one == 1 and many >= {"stray_quote_early": 1, "lone_cr": 2}.get(damage, 5)
    assert streamed == whole and streamed_rejects == whole_rejects
