"""Normalization and content ids for seed text, vectorized over Polars columns."""

from __future__ import annotations

import polars as pl
import xxhash


def normalize_expr(column: str) -> pl.Expr:
    """NFC, whitespace runs collapsed to one space, trimmed: the text a seed id is hashed from."""
    return pl.col(column).str.normalize("NFC").str.replace_all(r"\s+", " ").str.strip_chars()


def content_ids(texts: pl.Series) -> pl.Series:
    """xxh3-128 hex digests of already-normalized texts (stable across versions and machines,
    unlike Polars' own `hash`)."""
    digest = xxhash.xxh3_128_hexdigest
    return pl.Series(texts.name, [digest(t.encode()) for t in texts.to_list()], dtype=pl.String)
