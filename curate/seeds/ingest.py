"""Seed ingestion: any source -> normalized, content-addressed seeds with provenance."""

from __future__ import annotations

import ctypes
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
from pydantic import Field as PydanticField
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from curate.seeds import readers, validate
from curate.seeds.answers import split_answers
from curate.seeds.code import CODE_COLUMNS, detect_shape, map_code
from curate.seeds.declare import SEEDS_ADD_STAGE
from curate.seeds.errors import IngestError
from curate.seeds.normalize import content_ids, normalize_expr
from curate.seeds.readers import iter_source
from curate.seeds.records import EXCERPT, KIND, LOC, Reject, SourceRecords, excerpt
from curate.seeds.validate import NUMBER, TEXT, Field
from store import Run, StageConfig, Store
from store.tables import REJECTS, SEED_SOURCES, SEEDS

PROBLEM_FIELDS = ("problem", "question", "prompt", "input", "instruction")
ANSWER_FIELDS = ("answer", "final_answer", "solution", "target", "output")
_BATCH = 100_000
_MAPPED = ("problem", "answer_raw", "ref", "level_raw")
_CODE_IDS = ("task_id", "question_id", "problem_id", "id", "name")


class IngestConfig(StageConfig):
    source: str
    """File, save_to_disk folder, or hf:owner/name[:config]."""
    name: str
    """Source name recorded with each seed."""
    domain: str | None = None
    """Domain of these seeds (default: code when the records carry tests in one of the code
    shapes, HumanEval, MBPP, APPS, LiveCodeBench, CodeContests; else math)."""
    problem_field: str | None = None
    """Field holding the problem (default: the first of problem, question, prompt, ...)."""
    answer_field: str | None = None
    """Field holding the answer or worked solution."""
    id_field: str | None = None
    """Field used as the source row reference."""
    split: str | None = None
    """Split of a dataset folder or hf: source."""
    limit: int | None = PydanticField(default=None, ge=1)
    """Ingest only the first N records."""
    on_error: Literal["fail", "skip"] = "fail"
    """fail | skip (bad rows go to `rejects`)."""
    license: str | None = None
    """License or notes for this source."""
    reference_runs: int = PydanticField(default=3, ge=0)
    """Code: a reference program must pass its tests this many runs out of as many (0: not
    run); a seed whose reference fails is rejected with the verdict."""
    reference_test_s: float | None = PydanticField(default=None, gt=0, le=60)
    """Wall-time limit per test when running references (default: the executor's, 6 s)."""
    max_chars: int = PydanticField(default=100_000, ge=1)
    """Longest problem, answer or id (in characters) a row may hold; a longer one is a bad row.
    Generous by default: a real problem or worked solution is a few thousand characters, while
    a megabyte cell is a broken export or a pasted file."""


def run_ingest(store: Store, config: IngestConfig) -> dict[str, int]:
    """Ingest one source; exact duplicates (same normalized problem) are stored once, while
    every source occurrence is kept in `seed_sources`. Re-running adds nothing. The source is
    read, checked and written in batches (curate.seeds.readers), so memory is bounded by a
    batch, not by the file."""
    with store.run(SEEDS_ADD_STAGE, config) as run:
        skip = config.on_error == "skip"
        batches = iter_source(
            config.source, split=config.split, skip_bad=skip, batch_bytes=readers.BATCH_BYTES
        )
        ingest_batches(run, config, batches)
        return run.counts


@dataclass
class _Source:
    """What holds across the batches of one source: the fields mapped and the code shape,
    decided by the first batch, and the seed ids met so far (for the duplicate count)."""

    picks: _Picks | None = None
    shape: str | None = None
    columns: list[str] = field(default_factory=list)
    seen: pl.DataFrame = field(default_factory=lambda: _id_halves(pl.Series([], dtype=pl.String)))


def ingest_batches(run: Run, config: IngestConfig, batches: Iterable[SourceRecords]) -> None:
    state, left = _Source(), config.limit
    for records in batches:
        if left is not None:
            records.frame = records.frame.head(left)
            left -= records.frame.height
        run.count("rows_read", records.frame.height + len(records.rejects))
        if state.picks is None and records.frame.height:
            state.shape = _code_shape(records, config)
        if state.shape is None:
            frame, rejects = map_fields(records, config, state=state)
        else:
            frame, rejects = _map_code(records, state.shape, config, state)
            run.count("code_shape_" + state.shape, frame.height)
            run.count("code_without_tests", frame["_tests"].null_count())
        domain = config.domain or ("code" if state.shape else "math")
        store_seed_frame(
            run, frame, source=config.name, domain=domain, license=config.license, state=state
        )
        _write_rejects(run, config.name, [*records.rejects, *rejects])
        del records, frame, rejects
        _give_back_memory()
        if left == 0:
            break


def _give_back_memory() -> None:
    """Return the freed heap of the batch just written to the system (glibc's malloc_trim).
    Polars' worker threads each allocate from their own malloc arena, and what a batch frees
    there stays resident without this: about 3 MB a batch here, so a long file would creep."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, musl): nothing to do
        return None


_LIBC = _libc()


def _code_shape(records: SourceRecords, config: IngestConfig) -> str | None:
    if config.domain not in (None, "code") or records.frame.height == 0:
        return None
    # under --domain code, records without tests in a known shape are code seeds needing tests
    columns = [c.removeprefix(KIND) for c in records.frame.columns]
    return detect_shape(columns, code=config.domain == "code")


def _map_code(
    records: SourceRecords, shape: str, config: IngestConfig, state: _Source
) -> tuple[pl.DataFrame, list[Reject]]:
    """Code records mapped and validated as any others (the problem text by `validate`), then
    their reference programs run against their tests (curate.seeds.references)."""
    from curate.seeds.references import check_references

    skip = config.on_error == "skip"
    frame, rejects = map_code(records.frame, shape, skip)
    code = SourceRecords(frame)
    update = {"problem_field": "problem", "answer_field": None}
    mapped, bad = map_fields(code, config.model_copy(update=update), code=True, state=state)
    failed = check_references(mapped, config.reference_runs, config.reference_test_s)
    reasons = [(i, r) for i, r in enumerate(failed) if r is not None]
    if reasons and not skip:
        index, reason = reasons[0]
        raise IngestError(
            f"{mapped[LOC][index]}: field 'reference' {reason} ({len(reasons)} failing "
            f"reference{'s' * (len(reasons) > 1)}; --on-error skip sets them aside in `rejects`)"
        )
    fails = [
        Reject(mapped[LOC][i], "reference", r, excerpt(mapped["_program"][i] or ""))
        for i, r in reasons
    ]
    keep = pl.Series([r is None for r in failed], dtype=pl.Boolean)
    return mapped.filter(keep) if mapped.height else mapped, [*rejects, *bad, *fails]


def store_seed_frame(
    run: Run,
    frame: pl.DataFrame,
    *,
    source: str,
    domain: str,
    license: str | None,
    state: _Source | None = None,
) -> None:
    """Insert mapped records (columns problem, answer_raw, ref, level_raw, _loc) as seeds plus
    their provenance rows; `state` carries the ids of earlier batches of the same source."""
    seeds = _build_seeds(frame, source, domain, license, run)
    run.insert(SEEDS, seeds)
    sources = seeds.select("seed_id", "source", "source_ref", "run_id")
    run.insert(SEED_SOURCES, sources)
    ids = _id_halves(seeds["seed_id"]).unique()
    if state is not None:
        ids = ids.join(state.seen, on=["hi", "lo"], how="anti")
        state.seen = pl.concat([state.seen, ids], rechunk=True)
    run.count("duplicates_in_source", frame.height - ids.height)


def _id_halves(ids: pl.Series) -> pl.DataFrame:
    """Seed ids (32 hex digits) as two 64-bit integers: 16 bytes an id to remember, not ~50."""
    return pl.DataFrame(
        {
            "hi": ids.str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64),
            "lo": ids.str.slice(16).str.to_integer(base=16, dtype=pl.UInt64),
        }
    )


def _pick(
    columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, where: str
) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise IngestError(
                f"{where}: field '{wanted}' (--{what}-field) is missing; fields: {columns}"
            )
        return wanted
    return next((c for c in candidates if c in columns), None)


@dataclass(frozen=True)
class _Picks:
    problem: str
    answer: str | None
    ref: str | None


def _picks(
    frame: pl.DataFrame, columns: list[str], config: IngestConfig, code: bool, state: _Source | None
) -> _Picks:
    """The source fields mapped to problem, answer and ref: chosen from the first batch's
    fields, and kept for the later ones (a field a later batch lacks is null there). A field
    the defaults would have preferred that shows up only in a later batch is an error: the
    choice would depend on where the batches fall."""
    where = frame[LOC][0]
    earlier = state.columns if state is not None else []
    seen = [*columns, *(c for c in earlier if c not in columns)]
    problem = _pick(seen, config.problem_field, PROBLEM_FIELDS, "problem", where)
    if problem is None:
        raise IngestError(
            f"{where}: no problem field found (tried {PROBLEM_FIELDS}); set --problem-field"
        )
    answer = None if code else _pick(seen, config.answer_field, ANSWER_FIELDS, "answer", where)
    ref = _pick(seen, config.id_field, _CODE_IDS if code else (), "id", where)
    picks = _Picks(problem, answer, ref)
    if state is None:
        return picks
    if state.picks is not None and picks != state.picks:
        what, new = next(
            (name, getattr(picks, name))
            for name in ("problem", "answer", "ref")
            if getattr(picks, name) != getattr(state.picks, name)
        )
        option = {"problem": "problem", "answer": "answer", "ref": "id"}[what]
        where = frame.filter(pl.col(new).is_not_null())[LOC][0] if new in columns else where
        raise IngestError(
            f"{where}: field '{new}' first appears here, after the earlier records were read "
            f"with '{getattr(state.picks, what)}' as the {what}; set --{option}-field"
        )
    state.picks = picks
    state.columns = seen
    return picks


def map_fields(
    records: SourceRecords,
    config: IngestConfig,
    *,
    code: bool = False,
    state: _Source | None = None,
) -> tuple[pl.DataFrame, list[Reject]]:
    """The mapped columns (problem, answer_raw, ref, level_raw, _loc; with `code`, also
    _program and _tests and no answer) of the rows whose values pass `validate`, and a reject
    for each row that fails (with on_error=fail, the error for the first). `state`: the
    source's earlier batches, whose field choice holds."""
    frame = records.frame
    extra = list(CODE_COLUMNS[1:]) if code else []
    if frame.height == 0:  # every record was set aside by the reader
        return pl.DataFrame(schema=dict.fromkeys([LOC, *_MAPPED, *extra], pl.String)), []
    columns = [c for c in frame.columns if c != LOC and not c.startswith(KIND)]
    picks = _picks(frame, columns, config, code, state)
    problem, answer, ref = picks.problem, picks.answer, picks.ref
    absent = [c for c in (problem, answer, ref) if c is not None and c not in columns]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
    fields = [
        Field("problem", problem, TEXT, required=True),
        Field("answer_raw", answer, NUMBER, required=config.answer_field is not None),
        Field("ref", ref, NUMBER, required=config.id_field is not None),
        Field("level_raw", "level" if "level" in columns else None, NUMBER, required=False),
    ]
    mapped = frame.select(LOC, *_mapped(frame, fields), *extra).with_row_index("_row")
    out = validate.check(mapped, fields[:3], config.max_chars)
    broken = out.filter(pl.col("_code").is_not_null())
    if broken.height and config.on_error == "fail":
        bad = _describe(broken.head(1), frame, fields, config.max_chars)[0]
        raise IngestError(
            f"{bad.location}: field '{bad.field}' {bad.reason} ({broken.height} bad "
            f"row{'s' * (broken.height > 1)}; --on-error skip sets them aside in `rejects`)"
        )
    rejects = _describe(broken, frame, fields, config.max_chars)
    good = out.filter(pl.col("_code").is_null())
    return good.select(LOC, *_MAPPED, *extra), rejects


def _mapped(frame: pl.DataFrame, fields: list[Field]) -> list[pl.Expr]:
    """Each field as text plus its kind (`_kind_<alias>`); an unmapped field is null."""
    exprs = []
    for spec in fields:
        if spec.source is None:
            text, kind = pl.lit(None, pl.String), pl.lit(None, pl.String)
        else:
            text = validate.text_expr(frame, spec.source)
            kind = validate.kind_expr(frame, spec.source)
        if spec.alias == "level_raw":  # a hint only: what is not text or a number is ignored
            text = pl.when(kind.is_in(list(NUMBER))).then(text)
        exprs += [text.alias(spec.alias), kind.alias(f"_kind_{spec.alias}")]
    return exprs


def _describe(
    broken: pl.DataFrame, frame: pl.DataFrame, fields: list[Field], max_chars: int
) -> list[Reject]:
    """One reject per failing row, in row order, described from the source value and record
    (the rows are few, or all of a wrongly typed column: either way not the hot path)."""
    by_source = {spec.source: spec for spec in fields if spec.source is not None}
    kinds = [c for c in frame.columns if c.startswith(KIND)]
    records = frame.drop(LOC).gather(broken["_row"]).to_dicts()
    for record in records:  # a mixed-kind field holds JSON text: show the value as written
        for column in kinds:
            name, kind = column.removeprefix(KIND), record.pop(column)
            if kind not in (None, "text"):
                record[name] = json.loads(record[name])
    rejects = []
    for (loc, name, code), record in zip(
        broken.select(LOC, "_bad_field", "_code").iter_rows(), records, strict=True
    ):
        reason = validate.describe(code, record[name], by_source[name], max_chars)
        raw = json.dumps(record, default=str, ensure_ascii=False)[: 4 * EXCERPT]
        rejects.append(Reject(loc, name, reason, excerpt(raw)))
    return rejects


def _build_seeds(
    frame: pl.DataFrame, source: str, domain: str, license: str | None, run: Run
) -> pl.DataFrame:
    # the streaming engine splits the column into morsels across cores; an eager call on one
    # chunk (what the reader hands over) runs on a single core, 2x slower here
    frame = (
        frame.lazy()
        .with_columns(
            normalize_expr("problem").alias("_key"),
            # code keeps its lines and indentation (a HumanEval prompt is a program); its id
            # is still the collapsed text's, so re-spaced copies are one seed
            _code_text("problem") if "_tests" in frame.columns else normalize_expr("problem"),
        )
        .collect(engine="streaming")
    )
    ids: list[pl.Series] = []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=frame.height < 2 * _BATCH,
    ) as progress:
        task = progress.add_task(f"hashing {source}", total=frame.height)
        for start in range(0, frame.height, _BATCH):
            ids.append(content_ids(frame["_key"].slice(start, _BATCH)))
            progress.advance(task, min(_BATCH, frame.height - start))
    seed_ids = pl.concat(ids) if ids else pl.Series("problem", [], dtype=pl.String)
    answers = (
        _code_answers(frame) if "_tests" in frame.columns else split_answers(frame["answer_raw"])
    )
    tests = (
        frame["_tests"]
        if "_tests" in frame.columns
        else pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    )
    # the level as written, sign included ("Level -2" is -2); a hint, so no number is null
    level = frame["level_raw"].str.extract(r"(-?\d+)", 1).cast(pl.Int32, strict=False)
    ref = pl.when(pl.col("ref").is_not_null()).then(pl.col("ref")).otherwise(pl.col(LOC))
    return frame.select(
        seed_ids.alias("seed_id"),
        pl.lit(source).alias("source"),
        ref.alias("source_ref"),
        pl.lit(domain).alias("domain"),
        "problem",
        answers["answer"].alias("answer"),
        answers["solution"].alias("solution"),
        answers["answer_type"].alias("answer_type"),
        level.alias("level"),
        pl.lit(license, pl.String).alias("license"),
        pl.lit(run.id).alias("run_id"),
        tests.alias("tests"),
    )


def _code_text(column: str) -> pl.Expr:
    """NFC, trailing whitespace of each line and blank edges removed; indentation kept."""
    text = pl.col(column).str.normalize("NFC").str.replace_all(r"[ \t]+(\r?\n)", "$1")
    return text.str.strip_chars("\n").str.strip_chars_end().alias(column)


def _code_answers(frame: pl.DataFrame) -> pl.DataFrame:
    """A code seed's answer is its reference program, NULL when the source has none, and its
    answer_type `code` either way (its tests are what check it); its solution is the worked
    solution when the source has one (the synthetic families write it)."""
    none = pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    return pl.DataFrame(
        {
            "answer": frame["_program"],
            "solution": frame["_solution"] if "_solution" in frame.columns else none,
            "answer_type": pl.repeat("code", frame.height, dtype=pl.String, eager=True),
        }
    )


def _write_rejects(run: Run, source: str, rejects: list[Reject]) -> None:
    if not rejects:
        return
    frame = pl.DataFrame(
        {
            "source": [source] * len(rejects),
            "location": [r.location for r in rejects],
            "field": [r.field for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
            "run_id": [run.id] * len(rejects),
        }
    )
    run.insert(REJECTS, frame)
    run.count("rejected", len(rejects))
