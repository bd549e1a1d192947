"""`teachable seeds synth`: procedurally generated seeds with known answers, levels and worked
solutions. The solution is stored GSM8K-style ("steps\n#### answer"), so ingestion keeps it in
`seeds.solution` and takes the answer from its tail, exactly as for GSM8K seeds.

Code families (curate/synthetic/code_families.py) make `code` seeds: the reference program is
the answer, the worked solution the solution, the hidden tests the seed's `tests`; each
reference is run against its tests in the sandbox before it is stored, as at `seeds add`."""

from __future__ import annotations

import json
import random

import polars as pl
from pydantic import Field, field_validator

from curate.seeds.errors import IngestError
from curate.seeds.ingest import store_seed_frame
from curate.seeds.readers import LOC
from curate.synthetic.code_families import CODE_FAMILIES
from curate.synthetic.declare import SEEDS_SYNTH_STAGE
from curate.synthetic.families import FAMILIES, LEVELS
from store import StageConfig, Store
from store.errors import InputError
from synth.sizes import check_size

ALL_FAMILIES = {**FAMILIES, **CODE_FAMILIES}


class SynthConfig(StageConfig):
    count: int = Field(default=100, ge=1)
    """Number of distinct problems."""
    seed: int = 0
    """Generator seed."""
    families: list[str] = Field(default_factory=lambda: list(FAMILIES))
    """Families (default: all math families; code families: arithmetic_function,
    list_function, string_function)."""
    levels: list[int] = Field(default_factory=lambda: list(LEVELS))
    """Levels 1-5 (default all)."""
    name: str = "synthetic"
    """Source name prefix (sources are NAME/FAMILY)."""

    @field_validator("count")
    @classmethod
    def _fits(cls, value: int) -> int:
        check_size("--count", value, what="problems", named=False)
        return value

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ALL_FAMILIES))
        if unknown:
            raise InputError(f"unknown families {unknown}; known: {sorted(ALL_FAMILIES)}")
        return value

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, value: list[int]) -> list[int]:
        if not value or not set(value) <= set(LEVELS):
            raise InputError(f"levels must be a non-empty subset of {list(LEVELS)}")
        return value


def generate(config: SynthConfig) -> pl.DataFrame:
    """`count` distinct problems, spread round-robin over (family, level); each problem comes
    from its own RNG seeded by (seed, family, level, index), so adding families or raising the
    count never changes the problems already generated."""
    cells = [(f, lv) for f in config.families for lv in config.levels]
    rows: dict[str, tuple[str | None, ...]] = {}  # problem -> the other columns
    index = 0
    while len(rows) < config.count and index < config.count * 20:
        family, level = cells[index % len(cells)]
        rng = random.Random(f"{config.seed}/{family}/{level}/{index // len(cells)}")
        ref = f"synth:{config.seed}:{index}"
        if family in CODE_FAMILIES:
            task = CODE_FAMILIES[family](rng, level)
            tests = json.dumps(task.test_spec())
            row = (None, task.program, tests, task.solution, family, str(level), ref)
            rows.setdefault(task.problem, row)
        else:
            made = FAMILIES[family](rng, level)
            worked = f"{made.solution}\n#### {made.answer}"
            rows.setdefault(made.problem, (worked, None, None, None, family, str(level), ref))
        index += 1
    names = ("answer_raw", "_program", "_tests", "_solution", "family", "level_raw", "ref")
    problems = list(rows)
    columns = {name: [rows[p][i] for p in problems] for i, name in enumerate(names)}
    return pl.DataFrame(
        {"problem": problems, **columns}, schema=dict.fromkeys(["problem", *names], pl.String)
    ).with_columns(pl.col("ref").alias(LOC))


def run_synth(store: Store, config: SynthConfig) -> dict[str, int]:
    with store.run(SEEDS_SYNTH_STAGE, config) as run:
        frame = generate(config)
        run.count("rows_read", frame.height)
        for (family,), part in frame.group_by(["family"], maintain_order=True):
            code = family in CODE_FAMILIES
            part = _checked_code(part) if code else part.drop("_program", "_tests", "_solution")
            store_seed_frame(
                run,
                part.drop("family"),
                source=f"{config.name}/{family}",
                domain="code" if code else "math",
                license="generated (teachable)",
            )
        return run.counts


def _checked_code(part: pl.DataFrame) -> pl.DataFrame:
    """A generated reference that fails its tests is a bug in its family: fail loudly."""
    from curate.seeds.references import check_references

    failed = [(loc, r) for loc, r in zip(part[LOC], check_references(part, 3), strict=True) if r]
    if failed:
        loc, reason = failed[0]
        raise IngestError(f"{loc}: the generated reference {reason} ({len(failed)} failing)")
    return part
