"""Output for people and scripts (issue 23): user-visible text is never read as markup, piped
output is not wrapped, `--json` prints only JSON lines on stdout, and a seeded statistic is the
same whatever order its items come in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.cli import _common
from curate.evaluation.metrics import paired_difference


@pytest.mark.parametrize("text", ["pass@1[avg] %", "[bold]x[/bold]", "[red]", "a[/]b"])
def test_names_and_values_print_as_written(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    _common.print_frame(pl.DataFrame({text: [text]}), title=text)
    out = capsys.readouterr().out
    assert out.count(text) == 3  # title, header and cell


def test_piped_counts_and_tables_are_not_wrapped(capsys: pytest.CaptureFixture[str]) -> None:
    counts = {f"evals_inserted_{i}": 10**6 + i for i in range(20)}
    _common.print_counts("eval", counts)
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "evals_inserted_19=1000019" in line
    _common.print_frame(pl.DataFrame({"item_id": ["x" * 300]}))
    assert "x" * 300 in capsys.readouterr().out


@pytest.mark.parametrize("seed", [0, 7])
def test_the_paired_interval_does_not_depend_on_item_order(seed: int) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.random(60).round(2), rng.random(60).round(2)
    first = paired_difference(a, b, seed=seed, resamples=2000)
    for _ in range(3):
        order = rng.permutation(60)
        again = paired_difference(a[order], b[order], seed=seed, resamples=2000)
        assert (again.ci_low, again.ci_high) == (first.ci_low, first.ci_high)


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The `teachable` script, as users run it (`python -m` would put the working directory,
    and a store folder in it, on sys.path)."""
    environ = {**os.environ, "TEACHABLE_STORE": str(cwd / "teachable-data"), **env}
    return subprocess.run(
        [str(Path(sys.executable).with_name("teachable")), *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_json_output_is_only_json_on_stdout_and_counts_what_landed(tmp_path: Path) -> None:
    first = _cli("--json", "seeds", "synth", "--count", "4", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (line,) = first.stdout.splitlines()
    record = json.loads(line)
    assert record["stage"] == "seeds.synth" and record["counts"]["seeds_inserted"] == 4
    again = _cli("--json", "seeds", "synth", "--count", "4", cwd=tmp_path)
    assert json.loads(again.stdout)["counts"]["seeds_inserted"] == 0  # nothing new landed
    listed = _cli("seeds", "list", cwd=tmp_path, TEACHABLE_JSON="1")  # the env does the same
    tables = [json.loads(x) for x in listed.stdout.splitlines()]
    assert tables and all(set(t) == {"title", "rows"} for t in tables)
    assert sum(r["seeds"] for r in tables[0]["rows"]) == 4
    bad = _cli(
        "--json", "seeds", "add", str(tmp_path / "missing.jsonl"), "--name", "m", cwd=tmp_path
    )
    assert bad.returncode == 1 and bad.stdout == "" and "missing.jsonl" in bad.stderr
