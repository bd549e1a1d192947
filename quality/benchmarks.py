"""Benchmark registry: named evaluation sets that decontamination compares the corpus with.

A registry is a YAML file (see the shipped `quality/benchmarks.yaml`):

    root: ../../shared/data/benchmarks      # optional; relative to this file's directory
    include: [other.yaml]                   # optional; "builtin" = the shipped registry
    benchmarks:
      aime24: {source: aime24.jsonl, text_fields: [problem]}
      mine:   {source: "hf:owner/name", split: test, subset: main, text_fields: [question]}

Relative paths (`root`, `include`, local `source`) resolve against the registry file's own
directory, never the current directory. Local sources are JSONL/JSON, Parquet or CSV;
`hf:owner/name` goes through `datasets.load_dataset` (and `hf:json` with `data_files` loads local
files through the same code). Later entries (this file) override included ones.

Which registry is used: an explicit path, else $TEACHABLE_BENCHMARKS, else the shipped one.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field

BUILTIN_REGISTRY = Path(__file__).with_name("benchmarks.yaml")
ENV_VAR = "TEACHABLE_BENCHMARKS"


class BenchmarkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str  # file path, or hf:owner/name
    text_fields: list[str] = Field(default_factory=lambda: ["problem"])
    id_field: str | None = "id"  # None or missing column: "<name>-<row>"
    answer_field: str | None = "answer"
    split: str = "test"  # hf: sources
    subset: str | None = None  # hf: config name
    data_files: str | list[str] | None = None  # hf:json / hf:parquet with local files


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = None
    include: list[str] = Field(default_factory=list)
    benchmarks: dict[str, BenchmarkSpec] = Field(default_factory=dict)


def _resolve(path: str, base: Path) -> str:
    if path.startswith("hf:"):
        return path
    p = Path(os.path.expanduser(path))
    return str(p if p.is_absolute() else (base / p).resolve())


class Registry:
    """Benchmark name -> spec with resolved sources."""

    def __init__(self, specs: dict[str, BenchmarkSpec], path: Path | None = None) -> None:
        self.specs = specs
        self.path = path

    @classmethod
    def load(cls, path: str | Path | None = None) -> Registry:
        chosen = Path(path) if path else Path(os.environ.get(ENV_VAR) or BUILTIN_REGISTRY)
        return cls(cls._read(chosen.resolve(), seen=()), chosen)

    @classmethod
    def _read(cls, path: Path, seen: tuple[Path, ...]) -> dict[str, BenchmarkSpec]:
        if path in seen:
            raise ValueError(f"benchmark registry include cycle at {path}")
        if not path.exists():
            raise FileNotFoundError(f"benchmark registry {path} does not exist")
        raw = _RegistryFile.model_validate(yaml.safe_load(path.read_text()) or {})
        specs: dict[str, BenchmarkSpec] = {}
        for inc in raw.include:
            target = BUILTIN_REGISTRY if inc == "builtin" else Path(_resolve(inc, path.parent))
            specs.update(cls._read(target.resolve(), (*seen, path)))
        root = Path(_resolve(raw.root, path.parent)) if raw.root else path.parent
        for name, spec in raw.benchmarks.items():
            specs[name] = spec.model_copy(update={"source": _resolve(spec.source, root)})
        return specs

    def names(self) -> list[str]:
        return sorted(self.specs)

    def summary(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "benchmark": self.names(),
                "source": [self.specs[n].source for n in self.names()],
                "text_fields": [",".join(self.specs[n].text_fields) for n in self.names()],
            }
        )

    def items(self, names: list[str] | None = None) -> pl.DataFrame:
        """(benchmark, item_id, text, answer) for the named benchmarks (default all)."""
        frames = []
        for name in names or self.names():
            if name not in self.specs:
                raise ValueError(f"unknown benchmark '{name}' (known: {', '.join(self.names())})")
            frames.append(load_items(name, self.specs[name]))
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


def _read_source(spec: BenchmarkSpec) -> pl.DataFrame:
    src = spec.source
    if src.startswith("hf:"):
        import datasets

        kwargs = {"data_files": spec.data_files} if spec.data_files else {}
        ds = datasets.load_dataset(src[3:], spec.subset, split=spec.split, **kwargs)
        return pl.from_arrow(ds.data.table)  # type: ignore[return-value]
    path = Path(src)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return pl.read_ndjson(path, infer_schema_length=None)
    if suffix == ".json":
        return pl.read_json(path)
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".csv":
        return pl.read_csv(path)
    raise ValueError(f"unsupported benchmark file type: {path}")


def load_items(name: str, spec: BenchmarkSpec) -> pl.DataFrame:
    df = _read_source(spec)
    missing = [f for f in spec.text_fields if f not in df.columns]
    if missing:
        raise ValueError(f"benchmark '{name}' has no field(s) {missing} (columns: {df.columns})")
    text = pl.concat_str(
        [pl.col(f).cast(pl.String) for f in spec.text_fields], separator="\n", ignore_nulls=True
    )
    if spec.id_field and spec.id_field in df.columns:
        item_id = pl.col(spec.id_field).cast(pl.String)
    else:
        item_id = pl.format(f"{name}-{{}}", pl.int_range(pl.len()))
    answer = (
        pl.col(spec.answer_field).cast(pl.String)
        if spec.answer_field and spec.answer_field in df.columns
        else pl.lit(None, pl.String)
    )
    return df.select(
        pl.lit(name).alias("benchmark"),
        item_id.alias("item_id"),
        text.alias("text"),
        answer.alias("answer"),
    )
