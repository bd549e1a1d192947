"""The benchmark registry from an installed package, not from this checkout.

The package is built and installed non-editable into a fresh virtual environment, and
`teachable decontam` runs from a directory outside the repository with nothing but
TEACHABLE_DATA_DIR set: it must find the benchmarks and record hits. Installing every
dependency again would take minutes, so the new environment reaches the test interpreter's
installed dependencies through a .pth line naming its site-packages; .pth files inside a folder
added that way are not executed, so the editable install's finder stays off and `import quality`
can only find the copy installed here (which the test checks).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from curate.seeds.ingest import IngestConfig, run_ingest
from quality.benchmarks.registry import DATA_DIR_ENV
from store import Store

REPO = Path(__file__).resolve().parents[2]


def _copy_sources(dest: Path) -> Path:
    """What the wheel is built from: pyproject, README and the top-level packages (a copy, so
    the build's build/ and egg-info folders stay out of the checkout; pyproject picks)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    for init in REPO.glob("*/__init__.py"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(init.parent, dest / init.parent.name, ignore=ignore)
    return dest


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that points Python or teachable at this
    checkout (PYTHONPATH, a venv, TEACHABLE_* settings), plus `extra`."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("TEACHABLE_")}
    return {**env, **extra}


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_wheel_installed_decontam_finds_benchmarks_with_only_the_mirror_variable(
    tmp_path: Path, shared_data: Path
) -> None:
    outside = tmp_path / "work"  # the cwd of every command: not the repository
    outside.mkdir()
    env = _clean_env()
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=outside, env=env)
    python = venv / "bin" / "python"
    purelib = Path(
        _run(
            python,
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
            cwd=outside,
            env=env,
        ).strip()
    )
    (purelib / "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # before installing: the dependencies are reachable, teachable's packages are not (the
    # editable install's finder is off)
    find = "from importlib.util import find_spec as f; print(bool(f('polars')), bool(f('quality')))"
    assert _run(python, "-c", find, cwd=outside, env=env).split() == ["True", "False"]
    source = _copy_sources(tmp_path / "src")
    pip = ("-m", "pip", "install", "--no-deps", "--no-build-isolation", "--ignore-installed")
    _run(python, *pip, "--no-index", "--no-cache-dir", "--quiet", source, cwd=outside, env=env)

    where = json.loads(
        _run(
            python,
            "-c",
            "import json, quality, curate; print(json.dumps([quality.__file__, curate.__file__]))",
            cwd=outside,
            env=env,
        )
    )
    for module in map(Path, where):
        assert module.resolve().is_relative_to(purelib.resolve()), module
        assert not module.resolve().is_relative_to(REPO), module
    assert (
        purelib / "quality" / "benchmarks" / "benchmarks.yaml"
    ).is_file()  # the registry ships as package data

    data = shared_data / "benchmarks" / "math500.jsonl"
    copied = json.loads(data.read_text().splitlines()[3])["problem"]
    seeds = outside / "seeds.jsonl"
    seeds.write_text(
        json.dumps({"problem": copied, "answer": "1"})
        + "\n"
        + json.dumps({"problem": "Tom has 3 apples and buys 4 more. How many now?", "answer": "7"})
        + "\n"
    )
    with Store.open(outside / "teachable-data") as store:
        run_ingest(store, IngestConfig(source=str(seeds), name="mine"))

    teachable = venv / "bin" / "teachable"
    mirror_only = _clean_env(**{DATA_DIR_ENV: str(shared_data)})
    _run(teachable, "decontam", cwd=outside, env=mirror_only)

    with Store.open(outside / "teachable-data", create=False) as store:
        hits = store.table("contamination")
        [decontam] = store.runs().filter(stage="decontam").iter_rows(named=True)
    assert set(hits["benchmark"]) == {"math500"} and hits["item_id"].n_unique() == 1
    counts = json.loads(decontam["counts"])
    assert counts["benchmark_items"] == 30 + 30 + 198 + 1319 + 500  # the whole default set
