"""Errors are errors (issue 23, classes 4 and 5; issue 19, item 5): what the user typed fails
with one red line naming the option or field and exit code 1, never a traceback and never an
empty success; anything else (an internal bug) stays a traceback, so it never passes for bad
input."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from curate.cli._common import user_errors
from curate.cli.main import app
from curate.mixtures.recipe import MixtureRecipe, MixtureRecipeError
from curate.pipeline import RecipeError
from curate.seeds.errors import IngestError
from quality.benchmarks.registry import BenchmarkMissing
from quality.review.connection import ReviewServerError
from store import Store, StoreError
from store.engine import EngineError
from store.errors import ConfigError, InputError, NotFoundError, TeachableError
from store.sql import SqlConditionError

runner = CliRunner()


@pytest.mark.parametrize(
    "kind",
    [IngestError, RecipeError, SqlConditionError, MixtureRecipeError, BenchmarkMissing,
     ReviewServerError, EngineError, StoreError, NotFoundError],
)  # fmt: skip
def test_user_errors_are_teachable_and_keep_their_old_bases(kind: type[Exception]) -> None:
    assert issubclass(kind, TeachableError)
    assert issubclass(kind, (ValueError, RuntimeError, FileNotFoundError))


def _fails_in_one_line(args: list[str], *words: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert text.startswith("error:"), text
    for word in words:
        assert word in text, (word, text)
    return text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["decontam", "--tables", "seed"], ["'seed' is not an item table"]),
        (["decontam", "--tables", "Seeds"], ["not an item table"]),
        (["decontam", "--num-perm", "0"], ["--num-perm"]),
        (["decontam", "--num-perm", "99999999999999999999"], ["--num-perm"]),
        (["decontam", "--shingle", "0"], ["--shingle"]),
        (["decontam", "--strip", "("], ["--strip", "not a regular expression"]),
        (["decontam", "--strip", "[a-"], ["--strip"]),
        (["decontam", "--threshold", "nan"], ["--threshold"]),
        *(
            (
                ["eval", "--benchmark", "math500", "--model", "smollm2", "--samples", n],
                ["--samples"],
            )
            for n in ("99999999999999999999", "20000000", "0", "-1")
        ),
    ],
)
def test_a_bad_option_is_one_line_naming_it(args: list[str], words: list[str]) -> None:
    _fails_in_one_line(args, *words)


@pytest.mark.parametrize("name", ["", " ", "\t", " v1", "v1 ", "a\nb", "x" * 129, "12"])
def test_a_blank_or_odd_tag_is_refused(name: str, tmp_path: Path) -> None:
    path = str(tmp_path / "store")
    with Store.open(path):
        pass
    _fails_in_one_line(["tag", name, "--store", path], "tag")
    with Store.open(path) as store:
        assert store.table("tags").height == 0


def test_a_path_the_user_gave_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    def read() -> None:
        tmp_path.joinpath("x").mkdir()
        tmp_path.joinpath("x").read_text()

    with pytest.raises(typer.Exit), user_errors():
        read()


@pytest.mark.parametrize(
    "bug",
    [ValueError("zip() argument 2 is shorter"), KeyError("k"), TypeError("t"), ZeroDivisionError()],
)
def test_an_internal_bug_is_never_passed_off_as_bad_input(bug: Exception) -> None:
    with pytest.raises(type(bug)), user_errors():
        raise bug


@pytest.mark.parametrize(
    "error", [InputError("in"), ConfigError("cfg"), StoreError("busy"), NotFoundError("gone")]
)
def test_every_teachable_error_is_one_red_line(
    error: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as exit_info, user_errors():
        raise error
    assert exit_info.value.exit_code == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {error}"


@pytest.mark.parametrize("weight", [".inf", "-.inf", ".nan", "0"])
def test_a_mixture_weight_that_is_not_a_finite_positive_number_names_the_field(
    weight: str,
) -> None:
    import yaml
    from pydantic import ValidationError

    recipe = yaml.safe_load(
        f"name: m\nsize: 10\nparts:\n  - {{name: a, weight: {weight}}}\n  - {{name: b, count: 2}}"
    )
    with pytest.raises(ValidationError) as info:
        MixtureRecipe.model_validate(recipe)
    assert "weight" in str(info.value)


@pytest.mark.parametrize(
    "body",
    ["<html><body><h1>500 Internal Server Error</h1></body></html>", "", "Bad Gateway"],
)
def test_a_label_studio_answer_that_is_not_json_is_a_server_error(body: str) -> None:
    import json

    from quality.review.connection import Connection

    conn = Connection("http://ls.local:8080", None, "", "tok-secret-123")  # type: ignore[arg-type]
    with pytest.raises(ReviewServerError) as info, conn.errors("listing projects"):
        json.loads(body)
    text = str(info.value)
    assert "http://ls.local:8080" in text and "listing projects" in text
    assert "tok-secret-123" not in text


def test_an_html_error_page_is_named_not_pasted() -> None:
    from label_studio_sdk.core.api_error import ApiError

    from quality.review.connection import Connection

    conn = Connection("http://ls.local:8080", None, "", "tok-secret-123")  # type: ignore[arg-type]
    with pytest.raises(ReviewServerError) as info, conn.errors("creating tasks"):
        raise ApiError(status_code=500, headers={}, body="<!DOCTYPE html><html>oops</html>")
    assert "500" in str(info.value) and "HTML page" in str(info.value)
    assert "<html>" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "backend"),
    [
        ('{"backend": "transformers"}', "transformers"),
        ("{backend: synthetic, model: synthetic}", "synthetic"),
    ],
)
def test_an_inline_model_config_works_outside_recipes(text: str, backend: str) -> None:
    from synth.models import resolve_model_config

    assert resolve_model_config(text).backend == backend


@pytest.mark.parametrize("text", ['{"backend": "nope"}', '{"backend": ', '{"model": 1, "x": 2}'])
def test_a_bad_inline_model_config_is_one_line(text: str) -> None:
    _fails_in_one_line(["eval", "--benchmark", "math500", "--model", text], "error:")
