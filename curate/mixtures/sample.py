"""Exclusions and per-part sampling over the candidate traces (Polars, no per-row Python).

Sampling is by the candidates' `key` (md5 of seed and trace id): a part takes its filtered
candidates in key order, at most `traces_per_question` per prompt and `max_per_seed` per seed,
up to its target. Parts are filled in recipe order; a trace taken by one part is not offered to
the next. The same recipe, seed and snapshot therefore always give the same items.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from curate.mixtures.recipe import MixtureRecipe, PartSpec
from quality.decontam.kinds import EXCLUDED_BY_DEFAULT
from store.tables import QUESTIONS

ID_COLUMNS = ("trace_id", "item_id", "seed_id")
REASONS = ("contaminated", "near_duplicate", "failed_filter", "rejected_in_review")


def glob_regex(pattern: str) -> str:
    """`*` any run, `?` one character, everything else literal; anchored."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return f"^{body}$"


def _matches(column: str, globs: list[str]) -> pl.Expr:
    return pl.any_horizontal([pl.col(column).str.contains(glob_regex(g)) for g in globs])


def _touches(ids: pl.Series) -> pl.Expr:
    """The trace, its prompt or its seed is one of `ids`."""
    return pl.any_horizontal([pl.col(c).is_in(ids.implode()) for c in ID_COLUMNS]).fill_null(False)


@dataclass
class Cleaned:
    pool: pl.DataFrame  # candidates that survive every exclusion
    exclusions: dict[str, int]  # reason -> candidate traces excluded (reasons overlap)
    decontamination: dict[str, int]  # benchmark -> distinct prompts excluded
    decontamination_kinds: dict[str, dict[str, int]]  # benchmark -> kind -> prompts matched


def excluded_kinds(exclude_siblings: bool) -> tuple[str, ...]:
    """Hit kinds that exclude an item: copies, paraphrases and quotes, and siblings on request.
    A hit without a kind (written before kinds existed) always excludes."""
    return (*EXCLUDED_BY_DEFAULT, *(("sibling",) if exclude_siblings else ()))


def _excluding(marks: pl.DataFrame, kinds: tuple[str, ...]) -> pl.DataFrame:
    """The marks that exclude: contamination only with an excluding (or unknown) kind."""
    if "kind" not in marks.columns:
        return marks
    contaminated = pl.col("reason") == "contaminated"
    excludes = pl.col("kind").is_null() | pl.col("kind").is_in(kinds)
    return marks.filter(~contaminated | excludes)


def apply_exclusions(
    candidates: pl.DataFrame, marks: pl.DataFrame, exclude_siblings: bool = False
) -> Cleaned:
    excluding = _excluding(marks, excluded_kinds(exclude_siblings))
    flags = {
        reason: _touches(excluding.filter(pl.col("reason") == reason)["item_id"].unique())
        for reason in REASONS
    }
    flags["question_rejected"] = (pl.col("question_status") == "rejected").fill_null(False)
    flags["orphan"] = ~pl.col("has_seed") | (
        (pl.col("item_table") == QUESTIONS.name) & pl.col("question_status").is_null()
    )
    flagged = candidates.with_columns(**{f"_x_{k}": v for k, v in flags.items()}).with_columns(
        pl.any_horizontal(pl.col(f"_x_{k}") for k in flags).alias("_excluded")
    )
    exclusions = {k: int(flagged[f"_x_{k}"].sum()) for k in flags}
    pool = flagged.filter(~pl.col("_excluded")).drop(pl.selectors.starts_with("_x_"), "_excluded")
    return Cleaned(
        pool,
        exclusions,
        _decontamination(candidates, excluding),
        _decontamination_kinds(candidates, marks),
    )


def _matched(candidates: pl.DataFrame, marks: pl.DataFrame) -> pl.DataFrame:
    """(prompt, benchmark, kind) for every candidate prompt a contamination mark touches; kind
    `unclassified` for hits found before kinds existed."""
    if "kind" not in marks.columns:
        marks = marks.with_columns(kind=pl.lit(None, pl.String))
    hits = (
        marks.filter(pl.col("reason") == "contaminated")
        .select("item_id", "benchmark", pl.col("kind").fill_null("unclassified"))
        .unique()
    )
    long = candidates.select(pl.col("item_id").alias("prompt"), *ID_COLUMNS).unpivot(
        index="prompt", value_name="id"
    )
    return long.join(hits, left_on="id", right_on="item_id").select("prompt", "benchmark", "kind")


def _decontamination(candidates: pl.DataFrame, marks: pl.DataFrame) -> dict[str, int]:
    """Distinct candidate prompts matched per benchmark."""
    per = _matched(candidates, marks).group_by("benchmark").agg(pl.col("prompt").n_unique())
    return {b: int(n) for b, n in per.sort("benchmark").iter_rows()}


def _decontamination_kinds(
    candidates: pl.DataFrame, marks: pl.DataFrame
) -> dict[str, dict[str, int]]:
    """Distinct candidate prompts matched per benchmark and hit kind."""
    per = _matched(candidates, marks).group_by("benchmark", "kind").agg(pl.col("prompt").n_unique())
    nested: dict[str, dict[str, int]] = {}
    for benchmark, kind, n in per.sort("benchmark", "kind").iter_rows():
        nested.setdefault(benchmark, {})[kind] = int(n)
    return nested


def part_filter(part: PartSpec, selection: Callable[[str], pl.Series]) -> pl.Expr:
    conditions = [pl.lit(True)]
    if part.source:
        conditions.append(_matches("source", part.source))
    if part.domain:
        conditions.append(pl.col("domain").is_in(part.domain))
    if part.band:
        conditions.append(pl.col("band").is_in(part.band))
    if part.level:
        conditions.append(pl.col("level").is_between(*part.level))
    if part.selection:
        conditions.append(pl.col("seed_id").is_in(selection(part.selection).implode()))
    if part.teacher:
        conditions.append(_matches("teacher_model", part.teacher))
    if part.item_table != "any":
        conditions.append(pl.col("item_table") == part.item_table)
    if part.verified_only:
        conditions.append(pl.col("correct").fill_null(False))
    if part.require_reasoning:
        conditions.append(pl.col("has_reasoning"))
    if part.drop_truncated:
        conditions.append((pl.col("finish_reason") != "length").fill_null(True))
    return pl.all_horizontal(conditions).fill_null(False)


def _eligible(pool: pl.DataFrame, part: PartSpec, selection: Callable[[str], pl.Series]):
    rows = pool.filter(part_filter(part, selection)).sort("key")
    rows = rows.filter(pl.int_range(pl.len()).over("item_id") < part.traces_per_question)
    if part.max_per_seed is not None:
        rows = rows.filter(pl.int_range(pl.len()).over("seed_id") < part.max_per_seed)
    return rows


def sample_parts(
    pool: pl.DataFrame, recipe: MixtureRecipe, selection: Callable[[str], pl.Series]
) -> tuple[pl.DataFrame, dict[str, dict[str, int]]]:
    """Selected rows (with `part` and `position`) and per-part target/available/selected."""
    targets = recipe.targets()
    taken: list[pl.DataFrame] = []
    counts: dict[str, dict[str, int]] = {}
    for part in recipe.parts:
        if taken:
            used = pl.concat([t.select("trace_id") for t in taken])
            pool = pool.join(used, on="trace_id", how="anti")
        rows = _eligible(pool, part, selection)
        chosen = rows.head(targets[part.name]).with_columns(part=pl.lit(part.name))
        counts[part.name] = {
            "target": targets[part.name],
            "available": rows.height,
            "selected": chosen.height,
        }
        taken.append(chosen)
    items = pl.concat(taken, how="vertical_relaxed").sort("key")
    return items.with_columns(position=pl.int_range(pl.len(), dtype=pl.Int64)), counts
