"""One declaration per stage (store.stage.Stage): the recipe stage, the `teachable` command and
the recipe preflight are all derived from it, so a stage declared in a new module is all three
at once; review push and pull are stages like the others."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

import curate.pipeline as pipeline
from curate.cli import stages as stages_cli
from curate.pipeline import RecipeError, collect, load_recipe, run_stage
from curate.preflight import stage_problems
from quality.review.connection import KEY_ENV, URL_ENV
from store import StageConfig, Store

TOY_MODULE = '''
from pathlib import Path

from store import StageConfig, Store
from store.stage import Stage


class ToyConfig(StageConfig):
    path: str
    """A file the toy stage needs."""
    times: int = 1
    """How often."""


def check_toy(config, hub):
    return [] if Path(config.path).is_file() else [f"toy file {config.path} is missing"]


def run_toy(store: Store, config: ToyConfig) -> dict[str, int]:
    with store.run(TOY, config) as run:
        return run.count_all({"times": config.times})


TOY = Stage(
    "toy.make",
    config=ToyConfig,
    run=run_toy,
    help="Make a toy.",
    example="teachable toy make --path x.txt",
    check=check_toy,
    flags={"times": ("--times", "-t")},
)
'''


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A stage declared in a module of its own, added to the registry's list of modules."""
    (tmp_path / "toy_stage.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toy_stage", raising=False)
    modules = (*pipeline.DECLARATIONS, "toy_stage")
    monkeypatch.setattr(pipeline, "STAGES", collect(modules))
    monkeypatch.chdir(tmp_path)
    return "toy.make"


def _recipe(path: Path, stages: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    return path


def test_a_declared_stage_is_a_recipe_stage_with_its_preflight(toy: str, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path / "r.yaml", [{"stage": toy, "config": {"path": "gone.txt"}}])
    with pytest.raises(RecipeError, match=r"stages\[1\] toy.make: toy file gone.txt is missing"):
        load_recipe(recipe)
    assert stage_problems(toy, pipeline.STAGES[toy].config_class(path="gone.txt")) == [
        "toy file gone.txt is missing"
    ]
    (tmp_path / "here.txt").write_text("x")
    recipe = _recipe(recipe, [{"stage": toy, "config": {"path": "here.txt", "times": 3}}])
    _, [(name, config)] = load_recipe(recipe)
    with Store.open(tmp_path / "store") as store:
        assert run_stage(store, name, config) == {"times": 3}
        assert store.runs()["stage"].to_list()[-1] == "toy.make"  # the declaration's name


def test_a_declared_stage_is_a_command(toy: str, tmp_path: Path) -> None:
    app = typer.Typer()
    stages_cli.register(app)
    runner = CliRunner()
    shown = runner.invoke(app, ["toy", "make", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "Make a toy." in shown.output and "Example: teachable toy make" in shown.output
    assert "A file the toy stage needs." in shown.output and "-t" in shown.output
    (tmp_path / "here.txt").write_text("x")
    args = ["toy", "make", "--path", "here.txt", "-t", "2", "--store", str(tmp_path / "s")]
    refused = runner.invoke(app, args)  # not a `creates_store` stage
    assert refused.exit_code == 1 and "no teachable store" in refused.output
    Store.open(tmp_path / "s").close()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "toy.make times=2" in result.output
    bad = runner.invoke(app, [*args[:4], "-t", "x"])
    assert bad.exit_code == 2  # Typer's own usage error, as for every stage


def test_a_stage_name_is_declared_once(toy: str, tmp_path: Path) -> None:
    (tmp_path / "toy_again.py").write_text(textwrap.dedent(TOY_MODULE))
    with pytest.raises(TypeError, match="stage 'toy.make' is declared twice"):
        collect(("toy_stage", "toy_again"))
    sys.modules.pop("toy_again", None)


@pytest.mark.parametrize("name", sorted(pipeline.STAGES))
def test_every_declaration_resolves(name: str) -> None:
    stage = pipeline.STAGES[name]
    assert issubclass(stage.config_class, StageConfig) and callable(stage.run_function)
    assert stage.after is None or callable(stage.after_function)


REVIEW_RECIPE = [
    {"stage": "review.push", "config": {"project": "audit", "selection": "edge", "sample": 5}},
    {"stage": "review.pull", "config": {"project": "audit"}},
]


def test_review_push_and_pull_are_recipe_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)
    recipe = _recipe(tmp_path / "review.yaml", REVIEW_RECIPE)
    with pytest.raises(RecipeError) as caught:
        load_recipe(recipe)  # preflight: the connection settings, before any stage runs
    message = str(caught.value)
    assert "4 problems, found before any stage ran" in message
    assert f"stages[1] review.push: set {URL_ENV}" in message
    assert f"stages[2] review.pull: set {KEY_ENV}" in message
    monkeypatch.setenv(URL_ENV, "http://localhost:1")
    monkeypatch.setenv(KEY_ENV, "token")
    _, loaded = load_recipe(recipe)
    assert [(name, type(config).__name__) for name, config in loaded] == [
        ("review.push", "PushConfig"),
        ("review.pull", "PullConfig"),
    ]
    bad = _recipe(tmp_path / "bad.yaml", [{"stage": "review.push", "config": {"project": "a"}}])
    with pytest.raises(RecipeError, match="stage 'review.push': choose items"):
        load_recipe(bad)
