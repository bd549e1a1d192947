"""Recipe preflight: every stage's inputs are checked before the first stage runs, and every
problem is reported at once with its stage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from curate.pipeline import RecipeError, load_recipe
from curate.preflight import model_problems
from curate.synthetic.generate import SynthConfig, run_synth
from quality.benchmarks.registry import DATA_DIR_ENV, REGISTRY_ENV
from store import Store

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "recipes" / "quickstart.yaml"


def _recipe(path: Path, stages: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    return path


def _broken_recipe(tmp_path: Path) -> Path:
    """A recipe whose stage 1 is fine and whose later stages each lack an input."""
    registry = tmp_path / "benchmarks.yaml"
    registry.write_text(yaml.safe_dump({"benchmarks": {"mine": {"source": "gone.jsonl"}}}))
    return _recipe(
        tmp_path / "broken.yaml",
        [
            {"stage": "seeds.synth", "config": {"count": 5}},
            {"stage": "seeds.add", "config": {"source": "no-seeds.jsonl", "name": "x"}},
            {"stage": "traces", "config": {"teacher": "models/nope.yaml"}},
            {"stage": "decontam", "config": {"registry": str(registry), "benchmarks": ["mine"]}},
            {"stage": "decontam", "config": {"benchmarks": ["not_a_benchmark"]}},
            {"stage": "mix.build", "config": {"recipe": "recipes/mixtures/nope.yaml"}},
            {"stage": "select", "config": {"name": "edge", "bands": ["nope"]}},
            {"stage": "export", "config": {"mixture": "m", "out": "o", "system_prompt_file": "p"}},
        ],
    )


def test_every_input_problem_is_listed_with_its_stage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RecipeError) as caught:
        load_recipe(_broken_recipe(tmp_path))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'broken.yaml'}: 7 problems, found before any stage")
    lines = [line for line in message.splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in lines] == [
        "- stages[2] seeds.add",
        "- stages[3] traces",
        "- stages[4] decontam",
        "- stages[5] decontam",
        "- stages[6] mix.build",
        "- stages[7]",  # an invalid config is listed with the input problems
        "- stages[8] export",
    ]
    assert "no-seeds.jsonl: no such file or folder" in lines[0]
    assert "models/nope.yaml: model config file not found" in lines[1]
    assert "benchmark 'mine' not found" in lines[2] and str(tmp_path / "gone.jsonl") in message
    assert "unknown benchmark 'not_a_benchmark'" in lines[3]
    assert "nope.yaml: cannot read mixture recipe" in lines[4]
    assert "bands" in lines[5]
    assert "system prompt file p not found" in lines[6]


def _teachable(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # the console script, as a user runs it (`python -m` would put cwd, which holds a folder
    # named `store`, first on sys.path)
    return subprocess.run(
        [str(Path(sys.executable).with_name("teachable")), *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_run_stops_before_the_first_stage_and_leaves_the_store_untouched(tmp_path):
    root = tmp_path / "store"
    with Store.open(root) as store:
        run_synth(store, SynthConfig(count=5))
        before = (store.snapshot(), store.runs().height)
    recipe = _broken_recipe(tmp_path)
    result = _teachable("run", str(recipe), "--store", str(root), cwd=tmp_path, env=os.environ)
    assert result.returncode == 1
    assert "7 problems, found before any stage ran" in result.stderr
    assert "Traceback" not in result.stderr
    with Store.open(root, create=False) as store:
        assert (store.snapshot(), store.runs().height) == before
        assert "seeds.add" not in set(store.runs()["stage"])


def test_quickstart_passes_preflight_with_the_mirror(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a new user's empty directory
    store, stages = load_recipe(QUICKSTART)
    assert store == "teachable-data" and len(stages) == 10


def test_quickstart_without_the_data_folder_stops_before_stage_one(tmp_path):
    """The issue's new user: no mirror and no hub (offline mode gives the same answer with or
    without a network). The run used to do five stages and then fail with a bare 'No such file
    or directory'; now nothing runs and the error says which benchmarks, where, and how."""
    env = {k: v for k, v in os.environ.items() if k not in (DATA_DIR_ENV, REGISTRY_ENV)}
    env |= {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = _teachable("run", str(QUICKSTART), cwd=tmp_path, env=env)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "stages[6] decontam: benchmarks aime24, aime25, gpqa_diamond, gsm8k_test, math500" in (
        message
    )
    assert "(TEACHABLE_DATA_DIR is not set)" in message
    assert "datasets.load_dataset('HuggingFaceH4/MATH-500', split='test')" in message
    assert "set TEACHABLE_DATA_DIR to a folder holding benchmarks/aime24.jsonl" in message
    assert not (tmp_path / "teachable-data").exists()  # not even the store was created


def test_model_checks_name_the_model_and_the_missing_piece(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert model_problems("smollm2") == [] and model_problems(None) == []
    key = "TEACHABLE_TEST_KEY_THAT_IS_NOT_SET"
    monkeypatch.delenv(key, raising=False)
    api = tmp_path / "api.yaml"
    api.write_text(yaml.safe_dump({"backend": "openai", "model": "m", "api_key_env": key}))
    assert model_problems(str(api)) == [f"model {api}: its API key variable {key} is not set"]
    monkeypatch.setenv(key, "secret")
    assert model_problems(str(api)) == []
    [gguf] = model_problems(str(_yaml(tmp_path / "g.yaml", {"gguf": "missing.gguf"})))
    assert "GGUF file not found: missing.gguf" in gguf
    [unknown] = model_problems("no-such-model")
    assert "no model config file or embedded model named 'no-such-model'" in unknown
    [bad] = model_problems(str(_yaml(tmp_path / "bad.yaml", {"backend": "nope"})))
    assert "unknown backend 'nope'" in bad


def _yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_inputs_false_only_validates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = _recipe(tmp_path / "r.yaml", [{"stage": "traces", "config": {"teacher": "x.yaml"}}])
    with pytest.raises(RecipeError, match="stages\\[1\\] traces: model x.yaml"):
        load_recipe(recipe)
    assert load_recipe(recipe, check_inputs=False)[1][0][0] == "traces"
