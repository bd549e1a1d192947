"""The items an eval scores: registry benchmarks, benchmark files, or seeds of the store.

Every item carries its answer type (the item's own, else inferred from the reference) and an
`item_hash` of its text and answer, so a benchmark whose file changes is scored afresh instead
of reusing rows of the old text. Each benchmark also gets an identity for the summary rows:
where it came from (`source`) and a hash of its evaluated item set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xxhash

from quality.answers import infer_answer_type
from quality.benchmarks.registry import BenchmarkSpec, Registry
from store import Store
from store.errors import InputError, NotFoundError
from store.sql import bind_condition, user_sql_errors
from store.tables import SEEDS

ITEM_SCHEMA = {
    "benchmark": pl.String,
    "item_id": pl.String,
    "text": pl.String,
    "answer": pl.String,
    "answer_type": pl.String,
}
_FILE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".csv")


@dataclass(frozen=True)
class Benchmark:
    name: str
    source: str  # registry file + name, a benchmark file, or store@snapshot with the filter
    items: pl.DataFrame  # ITEM_SCHEMA + item_hash
    without_answer: int  # items dropped: nothing to score them against

    @property
    def identity(self) -> str:
        """xxh3-64 of the evaluated (item_id, item_hash) set, whatever its order."""
        pairs = self.items.select("item_id", "item_hash").sort("item_id", "item_hash")
        return xxhash.xxh3_64_hexdigest(pairs.write_csv().encode())


def is_file_benchmark(name: str) -> bool:
    return name.lower().endswith(_FILE_SUFFIXES)


def benchmark_problems(names: list[str], registry: str | None) -> list[str]:
    """Names that are in no registry and files that do not exist (nothing is loaded)."""
    files = [n for n in names if is_file_benchmark(n)]
    problems = [
        f"benchmark file {n} not found" for n in files if not Path(n).expanduser().is_file()
    ]
    named = [n for n in names if not is_file_benchmark(n)]
    if named:
        try:
            loaded = Registry.load(registry)
        except (OSError, ValueError) as exc:
            return [*problems, str(exc)]
        problems += [_unknown(n, loaded) for n in named if n not in loaded.specs]
    return problems


def _unknown(name: str, registry: Registry) -> str:
    known = ", ".join(registry.names())
    return f"unknown benchmark '{name}' in registry {registry.path} (known: {known})"


def registry_benchmark(name: str, registry: str | None, limit: int | None) -> Benchmark:
    """A registry name, or a benchmark file (id, problem, answer columns) given by its path."""
    if is_file_benchmark(name):
        path = Path(name).expanduser().resolve()
        if not path.is_file():
            raise NotFoundError(f"benchmark file {path} does not exist")
        frame = _read_file(path)
        label, source = path.stem, str(path)
    else:
        loaded = Registry.load(registry)
        if name not in loaded.specs:
            raise InputError(_unknown(name, loaded))
        label, source = name, f"{Path(str(loaded.path)).resolve()}#{name}"
        if loaded.specs[name].code:
            return _prepared(label, source, code_items(name, loaded.specs[name]), limit)
        frame = loaded.items([name])
    frame = frame.with_columns(answer_type=pl.lit(None, pl.String))
    return _prepared(label, source, frame, limit)


# the instruction weak models get at difficulty: a program, in a block the grader extracts
_CODE_PROMPT = (
    (Path(__file__).parents[1] / "teachability" / "prompts" / "attempt_code.txt")
    .read_text(encoding="utf-8")
    .strip()
)


def code_items(name: str, spec: BenchmarkSpec) -> pl.DataFrame:
    """A code benchmark's items: the problem, and as its answer the tests (TestSpec JSON,
    answer_type `code`), read from the source's own fields by the seed ingest's code shapes."""
    from curate.seeds.code import detect_shape, map_code
    from curate.seeds.records import LOC
    from quality.benchmarks.registry import locate, read_file

    found = locate(spec)
    if found.path is None:
        raise NotFoundError(f"benchmark '{name}': no local copy of {spec.source} (code benchmarks "
                         "are read from a file: a pkg: source or a mirror)")  # fmt: skip
    raw = read_file(Path(found.path))
    shape = detect_shape(raw.columns)
    if shape is None:
        raise InputError(f"benchmark '{name}': its fields {raw.columns} are no known code shape")
    ids = raw[spec.id_field].cast(pl.String) if spec.id_field else None
    raw = raw.with_columns(
        pl.lit(f"{found.path}#").alias(LOC) + pl.int_range(pl.len()).cast(pl.String)
    )
    mapped, _ = map_code(raw, shape, skip_bad=False)
    return pl.DataFrame(
        {
            "benchmark": [name] * mapped.height,
            "item_id": ids if ids is not None else mapped[LOC],
            "text": [_CODE_PROMPT.format(problem=p) for p in mapped["problem"]],
            "answer": mapped["_tests"],
            "answer_type": ["code"] * mapped.height,
        },
        schema={**{k: pl.String for k in ("benchmark", "item_id", "text", "answer")},
                "answer_type": pl.String},
    )  # fmt: skip


def _read_file(path: Path) -> pl.DataFrame:
    """A benchmark file's items, read and checked by the one reader contract seeds use
    (curate.seeds): a bad line fails naming file:line and field, `problem` must be text, the
    answer (`answer`, else the first of ingest's answer fields) text or a number, `id` (when
    there is one) text or a number; values arrive as written. An empty file has no items."""
    from curate.seeds.ingest import IngestConfig, map_fields
    from curate.seeds.readers import read_source

    if not path.read_bytes().strip():
        return pl.DataFrame(
            schema={k: ITEM_SCHEMA[k] for k in ("benchmark", "item_id", "text", "answer")}
        )
    records = read_source(str(path), split=None, skip_bad=False)
    config = IngestConfig(
        source=str(path),
        name=path.stem,
        problem_field="problem",
        id_field="id" if "id" in records.frame.columns else None,
    )
    frame, _ = map_fields(records, config)
    row_ids = pl.format(f"{path.stem}-{{}}", pl.int_range(pl.len()))
    return frame.select(
        pl.lit(path.stem).alias("benchmark"),
        pl.coalesce(pl.col("ref"), row_ids).alias("item_id"),
        pl.col("problem").alias("text"),
        pl.col("answer_raw").alias("answer"),
    )


def store_benchmark(
    store: Store, selection: str | None, where: str | None, at: int, limit: int | None
) -> Benchmark:
    """Seeds of the store: the current version of a named selection and/or an SQL condition
    on `seeds`, read at the run's snapshot."""
    from curate.teachability.select import read_selection

    ref = store.ref(SEEDS, at)
    condition = bind_condition(store, ref, where) if where else "true"
    with user_sql_errors(where):
        seeds = store.sql(f"SELECT * FROM {ref} WHERE {condition}")
    if selection:
        picked = read_selection(store, selection, at).select("seed_id")
        seeds = seeds.join(picked, on="seed_id", how="semi")
    label = f"selection:{selection}" if selection else SEEDS.name
    if where:
        label += f"[{where}]"
    frame = seeds.sort("seed_id").select(
        pl.lit(label).alias("benchmark"),
        pl.col("seed_id").alias("item_id"),
        pl.col("problem").alias("text"),
        pl.col("answer").cast(pl.String),
        pl.col("answer_type").cast(pl.String),
    )
    return _prepared(label, f"store@{at}", frame, limit)


def _prepared(name: str, source: str, frame: pl.DataFrame, limit: int | None) -> Benchmark:
    if frame.height == 0:
        raise InputError(f"benchmark '{name}' ({source}) has no items")
    answered = frame.filter(
        pl.col("answer").is_not_null() & (pl.col("answer").str.strip_chars() != "")
    )
    if answered.height == 0:
        raise InputError(
            f"benchmark '{name}' ({source}) has no answers: eval scores answers, so every "
            "item needs one (set its registry entry's answer_field)"
        )
    dropped = frame.height - answered.height
    if limit:
        answered = answered.head(limit)
    types = [
        kind or infer_answer_type(answer)
        for kind, answer in answered.select("answer_type", "answer").iter_rows()
    ]
    items = answered.select(list(ITEM_SCHEMA)).with_columns(
        pl.Series("answer_type", types, dtype=pl.String),
        pl.concat_str([pl.col("text"), pl.col("answer")], separator="\x00")
        .map_elements(lambda s: xxhash.xxh3_64_hexdigest(s.encode()), return_dtype=pl.String)
        .alias("item_hash"),
    )
    duplicated = items["item_id"].is_duplicated()
    if duplicated.any():
        ids = items.filter(duplicated)["item_id"].unique().head(3).to_list()
        raise InputError(f"benchmark '{name}' ({source}) repeats item ids, e.g. {ids}")
    return Benchmark(name, source, items, dropped)
