"""Typer commands derived from a stage's declaration (store.stage.Stage) and its pydantic
config: the config is the one source of a stage's options, defaults and help; the declaration
adds its one-line help, example, short flags, positional arguments and extras.

Each config field becomes one option (`max_per_source` -> `--max-per-source`): bool ->
`--x/--no-x`, list -> repeatable, Literal -> a choice, dict -> JSON text, and a field that also
takes an inline model config (`str | ModelConfig | None`) takes the string form. Only the
options given on the command line reach the config, so the model's own defaults (and
validators) apply to the rest, exactly as in a recipe. A bad value is one red line naming its
option.

A stage command is registered lazily: `teachable --help` and `teachable log` never import the
stage modules; `teachable proxy --help` imports only proxy's.
"""

from __future__ import annotations

import enum
import inspect
import json
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from rich.markup import escape
from typer.core import TyperCommand
from typer.main import get_command_from_info
from typer.models import CommandInfo

from curate.cli._common import StoreOption, one_line, open_store, print_counts, user_errors
from store.errors import InputError
from store.stage import Stage

_KEYWORD = inspect.Parameter.KEYWORD_ONLY
_FROM_USER = frozenset({"COMMANDLINE", "ENVIRONMENT", "PROMPT"})


@dataclass(frozen=True)
class Extra:
    """A hand-written option that is not a config field; `apply` gets its value before the run."""

    name: str
    annotation: Any
    option: Any  # a typer.Option(...)
    apply: Callable[[Any], None]


@dataclass(frozen=True)
class CliField:
    """One config field on the command line: its Typer parameter and the way back to the config."""

    name: str
    label: str  # how errors name it: the first option name, or the argument's metavar
    parameter: inspect.Parameter
    convert: Callable[[Any], Any]


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json(value: Any) -> Any:
    return None if value is None else json.loads(value)


def _cli_type(annotation: Any, name: str) -> tuple[Any, bool]:
    """(the type Typer parses, whether the text is JSON). A union takes its string form when it
    has one (a model given by name or path; a snapshot id or tag)."""
    origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        if not all(isinstance(v, str) for v in values):
            raise TypeError(f"{name}: only string Literals have a command-line form")
        return enum.Enum(name, [(v, v) for v in values], type=str), False
    if origin is list:
        item, is_json = _cli_type(get_args(annotation)[0], name)
        if is_json:
            raise TypeError(f"{name}: a list of JSON values has no command-line form")
        return list[item], False  # type: ignore[valid-type]
    if origin is dict:
        return str, True
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _cli_type(options[0], name)
        if str in options:
            return str, False
    if annotation in (bool, int, float, str):
        return annotation, False
    raise TypeError(f"{name}: no command-line form for {annotation!r}")


def _default(info: FieldInfo, cli_type: Any, is_json: bool) -> Any:
    """The pydantic default as Typer shows and parses it; `...` when the field is required."""
    if info.is_required():
        return ...
    value = info.get_default(call_default_factory=True)
    if is_json and value is not None:
        return json.dumps(value)
    if isinstance(cli_type, type) and issubclass(cli_type, enum.Enum) and value is not None:
        return cli_type(value)
    return value


def _own_fields_first(model: type[BaseModel]) -> list[str]:
    """Field names, the config's own before those it inherits (`--at` last, not first)."""
    order: list[str] = []
    for cls in model.__mro__:
        for name in inspect.get_annotations(cls):
            if name in model.model_fields and name not in order:
                order.append(name)
    return order


def cli_fields(model: type[BaseModel], stage: Stage) -> list[CliField]:
    """The command-line form of every field of `model` that `stage` does not exclude."""
    names = [n for n in _own_fields_first(model) if n not in stage.exclude]
    names.sort(key=lambda n: stage.arguments.index(n) if n in stage.arguments else len(names))
    out = []
    for name in names:
        info = model.model_fields[name]
        cli_type, is_json = _cli_type(info.annotation, name)
        default = _default(info, cli_type, is_json)
        text = escape(info.description or "")
        if name in stage.arguments:
            param = typer.Argument(default, help=text, show_default=True)
            label = name.upper()
        else:
            flags = stage.flags.get(name, (f"--{name.replace('_', '-')}",))
            if cli_type is bool:
                flags = (f"{flags[0]}/--no-{flags[0].removeprefix('--')}", *flags[1:])
            param = typer.Option(default, *flags, help=text, show_default=True)
            label = flags[0].split("/")[0]
        annotation = cli_type if info.is_required() else cli_type | None
        parameter = inspect.Parameter(name, _KEYWORD, default=param, annotation=annotation)
        out.append(CliField(name, label, parameter, _json if is_json else _plain))
    return out


def config_from_cli(model: type[BaseModel], fields: list[CliField], given: dict[str, Any]) -> Any:
    """Validate the given values with the model; errors name the option, not the field."""
    labels = {f.name: f.label for f in fields}
    values = {}
    for f in fields:
        if f.name in given:
            try:
                values[f.name] = f.convert(given[f.name])
            except json.JSONDecodeError as exc:
                raise InputError(f"{f.label}: not JSON ({exc})") from None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InputError(one_line(exc, lambda name: labels.get(name, name))) from None


def stage_callback(stage: Stage, extras: tuple[Extra, ...] = ()) -> Callable[..., None]:
    """The command function Typer reads for `stage`: its signature is built from the config."""
    model = stage.config_class
    fields = cli_fields(model, stage)
    reserved = {"ctx", "store", *(e.name for e in extras)}
    clash = reserved & {f.name for f in fields}
    if clash:
        raise TypeError(f"{stage.name}: config fields {sorted(clash)} clash with CLI parameters")

    def command(ctx: typer.Context, store: str, **values: Any) -> None:
        given = {
            f.name: values[f.name]
            for f in fields
            if getattr(ctx.get_parameter_source(f.name), "name", None) in _FROM_USER
        }
        with user_errors():
            config = config_from_cli(model, fields, given)
        for extra in extras:
            extra.apply(values[extra.name])
        with open_store(store, create=stage.creates_store) as opened:
            counts = stage.run_function(opened, config)
            print_counts(stage.name, counts)
            after = stage.after_function
            if after:
                after(opened, config, counts)

    options = [inspect.Parameter(e.name, _KEYWORD, default=e.option, annotation=e.annotation)
               for e in extras]  # fmt: skip
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("ctx", _KEYWORD, annotation=typer.Context),
            *(f.parameter for f in fields),
            *options,
            inspect.Parameter("store", _KEYWORD, default=StoreOption, annotation=str),
        ]
    )
    command.__name__ = command.__qualname__ = stage.name.rpartition(".")[2]
    command.__doc__ = stage.full_help
    return command


class _LazyStageCommand(TyperCommand):
    """Lists with its one-line help at once; derives its options (importing the stage module)
    only when it is run, completed or asked for help."""

    stage: ClassVar[Stage]
    extras: ClassVar[tuple[Extra, ...]]
    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            callback = stage_callback(self.stage, self.extras)
            info = CommandInfo(name=self.name, callback=callback)
            real = get_command_from_info(
                info, pretty_exceptions_short=True, rich_markup_mode=self.rich_markup_mode
            )
            self.params, self.callback, self._loaded = real.params, real.callback, True

    def get_params(self, ctx: Any) -> list[Any]:
        self._load()
        return super().get_params(ctx)

    def invoke(self, ctx: Any) -> Any:
        self._load()
        return super().invoke(ctx)


def _not_loaded() -> None:
    raise RuntimeError("a stage command runs its derived callback, never this placeholder")


def add_stage_command(
    app: typer.Typer, name: str, stage: Stage, extras: tuple[Extra, ...] = ()
) -> None:
    """Register `stage` on `app` as command `name`, derived from its config when first used."""
    attributes = {"stage": stage, "extras": extras}
    cls = type(f"{stage.name}_command", (_LazyStageCommand,), attributes)
    app.command(name, cls=cls, help=stage.full_help)(_not_loaded)
