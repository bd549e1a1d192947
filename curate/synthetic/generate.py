"""`teachable seeds synth`: procedurally generated seeds with known answers, levels and worked
solutions. The solution is stored GSM8K-style ("steps\n#### answer"), so ingestion keeps it in
`seeds.solution` and takes the answer from its tail, exactly as for GSM8K seeds."""

from __future__ import annotations

import random

import polars as pl
from pydantic import Field, field_validator

from curate.seeds.ingest import store_seed_frame
from curate.seeds.readers import LOC
from curate.synthetic.families import FAMILIES, LEVELS
from store import StageConfig, Store
from store.errors import InputError


class SynthConfig(StageConfig):
    count: int = Field(default=100, ge=1)
    """Number of distinct problems."""
    seed: int = 0
    """Generator seed."""
    families: list[str] = Field(default_factory=lambda: list(FAMILIES))
    """Families (default all)."""
    levels: list[int] = Field(default_factory=lambda: list(LEVELS))
    """Levels 1-5 (default all)."""
    name: str = "synthetic"
    """Source name prefix (sources are NAME/FAMILY)."""

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(FAMILIES))
        if unknown:
            raise InputError(f"unknown families {unknown}; known: {sorted(FAMILIES)}")
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
    rows: dict[str, tuple[str, str, int, str]] = {}  # problem -> (answer_raw, family, level, ref)
    index = 0
    while len(rows) < config.count and index < config.count * 20:
        family, level = cells[index % len(cells)]
        rng = random.Random(f"{config.seed}/{family}/{level}/{index // len(cells)}")
        made = FAMILIES[family](rng, level)
        worked = f"{made.solution}\n#### {made.answer}"
        rows.setdefault(made.problem, (worked, family, level, f"synth:{config.seed}:{index}"))
        index += 1
    problems = list(rows)
    return pl.DataFrame(
        {
            "problem": problems,
            "answer_raw": [rows[p][0] for p in problems],
            "family": [rows[p][1] for p in problems],
            "level_raw": [str(rows[p][2]) for p in problems],
            "ref": [rows[p][3] for p in problems],
        }
    ).with_columns(pl.col("ref").alias(LOC))


def run_synth(store: Store, config: SynthConfig) -> dict[str, int]:
    with store.run("seeds.synth", config) as run:
        frame = generate(config)
        run.count("rows_read", frame.height)
        for (family,), part in frame.group_by(["family"], maintain_order=True):
            store_seed_frame(
                run,
                part.drop("family"),
                source=f"{config.name}/{family}",
                domain="math",
                license="generated (teachable)",
            )
        return run.counts  # live: the commit corrects it to what landed
