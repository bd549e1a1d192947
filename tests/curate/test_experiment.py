"""The teachable-vs-random experiment recipe: it validates, its two arms differ only in their
mixture, and it runs end to end at toy size (SmolLM2 for real: difficulty, SFT, eval)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from curate.export.stage import ExportConfig, run_export
from curate.mixtures.build import MixBuildConfig, run_mix_build
from curate.pipeline import load_recipe
from curate.synthetic.generate import SynthConfig, run_synth
from curate.training import SFTStageConfig, stage_key
from store import Store
from synth.traces import TracesConfig, run_traces

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "experiments" / "teachable_vs_random.yaml"


def _configs(stages: list[tuple[str, Any]], name: str) -> list[dict[str, Any]]:
    return [c.model_dump(exclude={"at"}) for n, c in stages if n == name]


def test_recipe_validates_and_the_arms_differ_only_in_their_mixture() -> None:
    _, stages = load_recipe(RECIPE)
    names = [n for n, _ in stages]
    assert names.index("difficulty") < names.index("mix.build") < names.index("sft")
    assert names.index("sft") < names.index("eval")
    mixtures = [c["recipe"] for c in _configs(stages, "mix.build")]
    assert [m["name"] for m in mixtures] == ["teachable", "random"]
    assert all(m["strict"] for m in mixtures)
    sizes = {sum(p["count"] for p in m["parts"]) for m in mixtures}
    assert len(sizes) == 1  # equal size
    assert mixtures[0]["parts"][0]["band"] == "teachable" and "band" not in mixtures[1]["parts"][0]
    sft = _configs(stages, "sft")
    assert len(sft) == 2 and sft[0]["settings"] == sft[1]["settings"]
    assert sft[0]["config"] == sft[1]["config"] and "seed" in sft[0]["settings"]
    evals = _configs(stages, "eval")
    assert [e["label"] for e in evals] == ["base", "teachable", "random"]
    same = {"where", "samples", "max_tokens", "seed", "temperature", "system_prompt_file"}
    assert all({k: e[k] for k in same} == {k: evals[0][k] for k in same} for e in evals)
    assert evals[0]["samples"] >= 4 and "heldout/" in evals[0]["where"]
    traces = _configs(stages, "traces")[0]
    assert traces["teacher"] == "synthetic" and "pool/" in traces["where"]


def toy(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe at toy size: a few seeds, K=2, 2 SFT steps, 2 eval samples of a few tokens.
    Bands are opened up (every seed teachable) because a toy run checks the plumbing, not the
    result."""
    scale: dict[str, dict[str, Any]] = {
        "difficulty": {"samples": 2, "max_tokens": 8, "teachable_min": 0.0, "teachable_max": 1.0},
        "eval": {"samples": 2, "max_tokens": 24},
    }
    for entry in recipe["stages"]:
        config = entry["config"]
        if entry["stage"] == "seeds.synth":
            config.update(count=16 if config["name"] == "pool" else 6, levels=[2, 3])
        elif entry["stage"] == "mix.build":
            config["recipe"]["parts"][0]["count"] = 4
        elif entry["stage"] == "sft":
            config["settings"] = {**config["settings"], "max_steps": 2, "save_steps": 2}
        config.update(scale.get(entry["stage"], {}))
    return recipe


def _teachable(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "TEACHABLE_PROGRESS": "0"}
    return subprocess.run(
        [sys.executable, "-m", "curate.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip


@pytest.mark.slow
def test_experiment_runs_end_to_end_at_toy_size(tmp_path: Path) -> None:
    recipe = tmp_path / "toy.yaml"
    recipe.write_text(yaml.safe_dump(toy(yaml.safe_load(RECIPE.read_text()))))
    first = _teachable("run", str(recipe), cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    with Store.open(tmp_path / "teachable-experiment", create=False) as store:
        assert set(store.runs()["status"]) == {"succeeded"}
        items = store.table("mixture_items")
        assert items.group_by("mixture").len().sort("mixture")["len"].to_list() == [4, 4]
        heldout = store.sql("SELECT seed_id FROM seeds WHERE source LIKE 'heldout/%'")
        assert not set(items["seed_id"]) & set(heldout["seed_id"])  # never trained on
        summaries = store.table("eval_summaries")
        assert sorted(summaries["model_name"]) == ["base", "random", "teachable"]
        assert (summaries["items"] == heldout.height).all() and (summaries["samples"] == 2).all()
    for arm in ("teachable", "random"):
        assert (tmp_path / "runs" / "experiment" / arm / "model.safetensors").exists()

    again = _teachable("run", str(recipe), cwd=tmp_path)  # everything is done: nothing is paid
    assert again.returncode == 0, again.stderr[-3000:]
    with Store.open(tmp_path / "teachable-experiment", create=False) as store:
        runs = store.runs().filter(pl.col("run_id") > "")  # all attempts
        last = runs.tail(len(yaml.safe_load(recipe.read_text())["stages"]))
        counts = dict(zip(last["stage"], last["counts"], strict=False))
    sft, evaluated = json.loads(counts["sft"]), json.loads(counts["eval"])
    assert sft["skipped"] == 1 and evaluated.get("sent", 0) == 0
    assert evaluated["samples_done_before"] == evaluated["samples"] > 0

    bench = subprocess.run(
        [sys.executable, str(REPO / "bench" / "teachable_vs_random.py"), "--store",
         str(tmp_path / "teachable-experiment"), "--plot", str(tmp_path / "experiment.png")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stderr[-3000:]
    for figure in ("avg", "paired differences per family", "teachable", "random", "base"):
        assert figure in bench.stdout, figure
    for family in ("pool/reverse_digits", "heldout/reverse_digits", "heldout/echo_number"):
        assert family in bench.stdout, family  # the gradient, then accuracy per held-out family
    assert (tmp_path / "experiment.png").read_bytes().startswith(b"\x89PNG")


def test_sft_key_survives_a_re_export_and_follows_settings(store: Store, tmp_path: Path) -> None:
    """A recipe re-run re-builds and re-exports the same mixture: the sft stage must see the
    same key (and train nothing); other settings or other rows are another key."""
    run_synth(store, SynthConfig(count=20))
    run_traces(store, TracesConfig(teacher="synthetic"))
    out = tmp_path / "export"
    keys = []
    for count in (8, 8, 9):
        recipe = {"name": "m", "strict": True, "parts": [{"name": "p", "count": count}]}
        run_mix_build(store, MixBuildConfig(recipe=recipe))
        run_export(store, ExportConfig(mixture="m", out=str(out), val_fraction=0, overwrite=True))
        config = SFTStageConfig(dataset=str(out), output_dir=str(tmp_path / "run"))
        keys.append(stage_key(config))
    assert keys[0] == keys[1] != keys[2]
    other = SFTStageConfig(dataset=str(out), output_dir="x", settings={"max_steps": 3})
    assert stage_key(other) != keys[2]
    with pytest.raises(FileNotFoundError, match="run `export` first"):
        stage_key(SFTStageConfig(dataset=str(tmp_path / "nothing"), output_dir="x"))
