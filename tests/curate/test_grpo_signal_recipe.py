"""The GRPO learning-signal experiment recipe validates, and its arms are the four selections
bench/grpo_signal.py reads, all over the same pool."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from curate.pipeline import load_recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "experiments" / "grpo_signal.yaml"


def test_recipe_validates_and_has_one_selection_per_arm() -> None:
    store, stages = load_recipe(RECIPE, check_inputs=False)
    assert store == "grpo-signal"
    names = [n for n, _ in stages]
    assert names.index("difficulty") < names.index("select")
    spec = importlib.util.spec_from_file_location("grpo_signal", REPO / "bench" / "grpo_signal.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    selects = {c.name: c for n, c in stages if n == "select"}
    assert sorted(selects) == sorted(f"arm_{arm}" for arm in bench.ARMS)
    assert selects["arm_random"].bands == ["too_easy", "teachable", "too_hard"]
    for arm in ("teachable", "too_easy", "too_hard"):
        assert selects[f"arm_{arm}"].bands == [arm]
    assert len({tuple(c.sources or []) for c in selects.values()}) == 1  # one pool
    difficulty = next(c for n, c in stages if n == "difficulty")
    assert "pool/" in (difficulty.where or "")
