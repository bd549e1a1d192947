"""Train/validation split by seed: a stable hash of `seed_id` decides, so no seed is in both.

The hash is xxh3-64 of the seed id with a fixed salt, computed once per distinct seed (not per
row). It depends neither on the Polars version nor on the mixture, so a seed lands in the same
split in every export: a later mixture cannot move a seed from an earlier one's val into train.
"""

from __future__ import annotations

import polars as pl
import xxhash

_SALT = b"teachable-split-v1:"
_SCALE = float(2**64)


def seed_buckets(seed_ids: pl.Series) -> pl.DataFrame:
    """Columns `seed_id`, `bucket` (a number in [0, 1)), one row per distinct seed id."""
    unique = seed_ids.unique().drop_nulls()
    # xxhash has no vectorized API and Polars' own hash is not stable across versions, so this
    # is one call per distinct seed
    values = [xxhash.xxh3_64_intdigest(_SALT + s.encode()) / _SCALE for s in unique.to_list()]
    return pl.DataFrame({"seed_id": unique, "bucket": pl.Series(values, dtype=pl.Float64)})


def is_val(seed_ids: pl.Series, val_fraction: float) -> pl.Series:
    """True where the seed goes to the validation split (a row without a seed goes to train)."""
    if val_fraction <= 0 or seed_ids.len() == 0:
        return pl.repeat(False, seed_ids.len(), dtype=pl.Boolean, eager=True).alias("is_val")
    joined = seed_ids.to_frame("seed_id").join(
        seed_buckets(seed_ids), on="seed_id", how="left", maintain_order="left"
    )
    return (joined["bucket"].fill_null(1.0) < val_fraction).alias("is_val")
