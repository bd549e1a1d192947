"""Stage commands are derived from their pydantic configs: every field is an option with the
model's default and help, values are validated by the model, and the command line builds the
same config a recipe does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
import typer
from pydantic import create_model
from typer.main import get_command
from typer.testing import CliRunner

from curate.cli._options import cli_fields
from curate.cli.main import app
from curate.pipeline import STAGES, stage_config
from store import Stage, StageConfig, Store

runner = CliRunner()


def _command(stage: str) -> Any:
    """The click command of `stage`, as `teachable` runs it (its options derived on demand)."""
    command = get_command(app)
    for part in stage.split("."):
        command = command.get_command(typer.Context(command), part)  # type: ignore[attr-defined]
    return command


def _cli_default(value: Any) -> Any:
    return getattr(value, "value", value)  # a choice's default is its enum member


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_config_field_is_an_option_with_its_default_and_help(stage: str) -> None:
    spec = STAGES[stage]
    model = spec.config_class
    command = _command(stage)
    params = {p.name: p for p in command.get_params(typer.Context(command))}
    for name, info in model.model_fields.items():
        if name in spec.exclude:
            assert name not in params
            continue
        param = params[name]
        assert param.help, f"{stage}: --{name} has no help (add a field docstring)"
        if info.is_required():
            assert param.required, f"{stage}: {name}"
            continue
        default = info.get_default(call_default_factory=True)
        if isinstance(default, dict):
            default = json.dumps(default)
        got = param.default
        got = [_cli_default(v) for v in got] if isinstance(got, list) else _cli_default(got)
        assert got == default, f"{stage}: --{name}"
    assert command.help.startswith(spec.help) and "Example: teachable " in command.help


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_declaration_names_real_fields(stage: str) -> None:
    spec = STAGES[stage]
    model = spec.config_class
    named = {*spec.flags, *spec.arguments, *spec.exclude}
    assert named <= set(model.model_fields), f"{stage}: {named - set(model.model_fields)}"


def test_every_command_has_a_one_line_help_and_an_example() -> None:
    def walk(command: Any, path: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is not None:
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}")
            return
        first, _, rest = (command.help or "").partition("\n\n")
        assert first and "\n" not in first.strip(), path
        assert "Example: teachable " in rest, path

    walk(get_command(app), "teachable")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["proxy", "--samples", "0"], "--samples: Input should be greater than or equal to 1"),
        (["select", "--name", "x", "--band", "medium"], "--band: bands must be"),
        (["traces", "--max-tokens", "0"], "--max-tokens: Input should be greater than"),
        (["seeds", "synth", "--family", "nope"], "--family: unknown families"),
        (["decontam", "--fields", "{seeds"], "--fields: not JSON"),
        (["difficulty", "--teachable-min", "0.9", "--teachable-max", "0.2"], "teachable_min"),
    ],
)
def test_a_bad_value_is_one_red_line_naming_the_option(
    args: list[str], named: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, [*args, "--store", str(tmp_path / "store")])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], lines
    assert not (tmp_path / "store").exists()  # validated before the store is touched


def _recorded_config(root: Path, stage: str) -> dict[str, Any]:
    with Store.open(root, create=False) as store:
        run = store.runs().filter(stage=stage, status="succeeded").row(-1, named=True)
    return json.loads(run["config"])


def _same_as_recipe(root: Path, stage: str, recipe: dict[str, Any]) -> None:
    recorded = _recorded_config(root, stage)
    direct = stage_config(stage, {**recipe, "at": recorded["at"]}, "test")
    assert recorded == direct.model_dump(mode="json")


def test_flags_build_the_config_a_recipe_builds(tmp_path: Path) -> None:
    root = tmp_path / "store"
    args = ["seeds", "synth", "--count", "6", "--seed", "3", "--name", "t", "--level", "2"]
    args += ["--family", "modular", "--family", "rates", "--store", str(root)]  # repeatable
    assert runner.invoke(app, args).exit_code == 0
    _same_as_recipe(
        root, "seeds.synth", {"count": 6, "seed": 3, "name": "t", "levels": [2],
                              "families": ["modular", "rates"]},
    )  # fmt: skip
    result = runner.invoke(app, ["dedup", "--threshold", "0.9", "--store", str(root)])
    assert result.exit_code == 0, result.output
    _same_as_recipe(root, "dedup", {"threshold": 0.9})


def test_a_bool_field_is_a_flag_pair(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    assert runner.invoke(app, ["seeds", "synth", "--count", "3", "--store", root]).exit_code == 0
    args = ["decontam", "-b", "math500", "--no-minhash", "--tables", "seeds", "--store", root]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    recorded = _recorded_config(Path(root), "decontam")
    assert recorded["minhash"] is False and recorded["include_traces"] is False
    _same_as_recipe(
        Path(root), "decontam", {"benchmarks": ["math500"], "minhash": False, "tables": ["seeds"]}
    )


class _Toy(StageConfig):
    mode: Literal["a", "b"] = "a"
    """A choice."""
    fields: dict[str, list[str]] | None = None
    """JSON."""
    secret: str = "x"


def _toy(**fields: Any) -> Stage:
    return Stage("toy", _Toy, lambda store, config: {}, "Toy.", "teachable toy", **fields)


def test_a_declaration_can_exclude_and_rename_fields() -> None:
    spec = _toy(flags={"mode": ("--kind", "-k")}, exclude=frozenset({"secret"}))
    fields = {f.name: f for f in cli_fields(_Toy, spec)}
    assert set(fields) == {"mode", "fields", "at"}
    assert fields["mode"].label == "--kind"
    assert fields["fields"].convert('{"seeds": ["problem"]}') == {"seeds": ["problem"]}
    bad = create_model("Bad", __base__=StageConfig, tags=(set[str], set()))
    with pytest.raises(TypeError, match="tags: no command-line form"):
        cli_fields(bad, _toy())


def test_top_level_help_imports_no_stage_module() -> None:
    refs = [ref for s in STAGES.values() for ref in (s.config, s.run) if isinstance(ref, str)]
    modules = sorted({ref.partition(":")[0] for ref in refs})
    code = (
        "import sys; from typer.testing import CliRunner; from curate.cli.main import app; "
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
        f"print([m for m in {modules!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
