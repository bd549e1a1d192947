"""Mixture recipes: named parts of traces, each a filter plus a weight or a target count.

```yaml
name: math-mix
size: 1000            # total rows; weighted parts share what count parts leave
seed: 0               # sampling seed
parts:
  - name: teachable-gsm
    source: "gsm8k*"  # glob(s) on seeds.source
    band: teachable   # difficulty band(s)
    weight: 0.7
    max_per_seed: 2
    traces_per_question: 1
    verified_only: true
  - name: hard-synthetic
    source: synthetic
    level: [3, 5]     # inclusive level range
    count: 300
exclude_siblings: false  # true: also drop items decontam calls siblings of a benchmark item
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from quality.review.resolve import ReviewRule
from store.errors import ConfigError

Band = Literal["too_easy", "teachable", "too_hard"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class MixtureRecipeError(ConfigError):
    """A recipe that cannot be resolved; the message names the file, the part and the field."""


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("use letters, digits, '_', '.', '-' (starting with a letter or digit)")
    return value


class PartSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    source: list[str] | None = None  # globs on seeds.source
    domain: list[str] | None = None
    band: list[Band] | None = None
    selection: str | None = None  # name in the `selections` table
    level: tuple[int, int] | None = None  # inclusive; rows without a level never match
    item_table: Literal["any", "seeds", "questions"] = "any"
    teacher: list[str] | None = None  # globs on traces.teacher_model
    weight: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, ge=0)
    max_per_seed: int | None = Field(default=None, ge=1)
    traces_per_question: int = Field(default=1, ge=1)
    verified_only: bool = True
    require_reasoning: bool = True  # drop traces whose reasoning is missing or empty
    drop_truncated: bool = True  # drop traces with finish_reason 'length'

    _lists = field_validator("source", "domain", "band", "teacher", mode="before")(_as_list)
    _name = field_validator("name")(_check_name)

    @field_validator("level")
    @classmethod
    def _level(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"range [{value[0]}, {value[1]}] is empty (low > high)")
        return value

    @model_validator(mode="after")
    def _size(self) -> PartSpec:
        if (self.weight is None) == (self.count is None):
            raise ValueError("give exactly one of `weight` or `count`")
        return self


class MixtureRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    description: str = ""
    size: int | None = Field(default=None, ge=1)
    seed: int = 0
    difficulty_model: str | None = None  # band from this weak model; default: latest per seed
    strict: bool = False  # fail when a part has fewer candidates than its target
    review_rule: ReviewRule = "majority"  # how review verdicts resolve (quality.review.resolve)
    # contamination hits of kind copy, paraphrase and quote always exclude; siblings (same
    # template, other numbers or answer) only with this flag
    exclude_siblings: bool = False
    parts: list[PartSpec] = Field(min_length=1)

    _name = field_validator("name")(_check_name)

    @model_validator(mode="after")
    def _totals(self) -> MixtureRecipe:
        names = [p.name for p in self.parts]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"part names must be unique; repeated: {duplicates}")
        counted = sum(p.count or 0 for p in self.parts)
        weighted = any(p.weight is not None for p in self.parts)
        if weighted and self.size is None:
            raise ValueError("parts with `weight` need the recipe's total `size`")
        if self.size is not None and counted > self.size:
            raise ValueError(f"part counts add up to {counted}, more than size {self.size}")
        return self

    def targets(self) -> dict[str, int]:
        """Rows wanted per part: counts as given; weights share `size - sum(counts)` by the
        largest-remainder rule, so the targets add up to `size` exactly."""
        counted = {p.name: p.count for p in self.parts if p.count is not None}
        weighted = {p.name: p.weight for p in self.parts if p.weight is not None}
        shares: dict[str, int] = {}
        if weighted:
            left = (self.size or 0) - sum(counted.values())
            total = sum(weighted.values())
            exact = {name: left * w / total for name, w in weighted.items()}
            shares = {name: int(x) for name, x in exact.items()}
            by_remainder = sorted(weighted, key=lambda name: shares[name] - exact[name])
            for name in by_remainder[: left - sum(shares.values())]:
                shares[name] += 1
        return {p.name: counted.get(p.name, shares.get(p.name, 0)) for p in self.parts}


def _where(loc: tuple[Any, ...], raw: Any) -> str:
    if len(loc) >= 2 and loc[0] == "parts" and isinstance(loc[1], int):
        index = loc[1]
        parts = raw.get("parts") if isinstance(raw, dict) else None
        name = ""
        if isinstance(parts, list) and index < len(parts) and isinstance(parts[index], dict):
            name = f" '{parts[index].get('name', '')}'"
        field = ".".join(str(p) for p in loc[2:] if not str(p).startswith("function-")) or "part"
        return f"parts[{index}]{name}: {field}"
    return ".".join(str(p) for p in loc) or "recipe"


def parse_recipe(text: str, source: str = "<recipe>") -> MixtureRecipe:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MixtureRecipeError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise MixtureRecipeError(f"{source}: a mixture recipe is a mapping (name, size, parts)")
    try:
        return MixtureRecipe.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e['loc'], raw)}: {e['msg']}" for e in exc.errors())
        raise MixtureRecipeError(f"{source}: {problems}") from exc


_REPO = Path(__file__).resolve().parents[2]


def _find(path: Path) -> Path:
    # a pipeline recipe names `recipes/mixtures/x.yaml` relative to the repository; let that
    # work from any directory when the file is not found relative to the current one
    if path.is_absolute() or path.exists() or not (_REPO / path).exists():
        return path
    return _REPO / path


def load_recipe(path: str | Path | dict[str, Any]) -> tuple[MixtureRecipe, str]:
    """The validated recipe and its YAML text (stored with the mixture). `path` may also be
    the recipe itself, as a mapping (inline in a pipeline recipe)."""
    if isinstance(path, dict):
        text = yaml.safe_dump(path, sort_keys=False)
        return parse_recipe(text, "<inline mixture recipe>"), text
    path = _find(Path(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MixtureRecipeError(f"{path}: cannot read mixture recipe: {exc}") from exc
    return parse_recipe(text, str(path)), text
