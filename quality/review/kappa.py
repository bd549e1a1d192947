"""Inter-annotator agreement on the verdict: Cohen's kappa per pair, Fleiss' kappa overall.

Both are chance-corrected agreement, kappa = (P_o - P_e) / (1 - P_e). Cohen's compares two
annotators on the items both judged, chance from each one's own verdict frequencies. Fleiss'
takes every item judged by two or more annotators; with a varying number of annotators per item
each item's agreement is P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)), averaged over items, and
chance is sum_j p_j^2 with p_j the share of all votes in category j. A few lines of numpy, so
neither scikit-learn nor statsmodels joins the dependencies for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import polars as pl


def _kappa(observed: float, expected: float) -> float:
    if np.isclose(expected, 1.0):
        return 1.0 if np.isclose(observed, 1.0) else float("nan")
    return float((observed - expected) / (1.0 - expected))


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two aligned label sequences (NaN when empty)."""
    if len(a) != len(b):
        raise ValueError(f"label sequences differ in length: {len(a)} vs {len(b)}")
    if not a:
        return float("nan")
    x, y = np.asarray(a), np.asarray(b)
    observed = float(np.mean(x == y))
    labels = np.union1d(x, y)
    expected = float(sum(np.mean(x == k) * np.mean(y == k) for k in labels))
    return _kappa(observed, expected)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa of an items x categories matrix of vote counts; items with fewer than two
    votes are left out (NaN when none is left)."""
    table = np.asarray(counts, dtype=float)
    n = table.sum(axis=1)
    table, n = table[n >= 2], n[n >= 2]
    if table.shape[0] == 0:
        return float("nan")
    per_item = ((table**2).sum(axis=1) - n) / (n * (n - 1))
    shares = table.sum(axis=0) / n.sum()
    return _kappa(float(per_item.mean()), float((shares**2).sum()))


def pairwise(current: pl.DataFrame) -> pl.DataFrame:
    """Cohen's kappa for every pair of annotators over the items both judged (columns
    annotator_a, annotator_b, items, agreement, kappa). `current`: item_id, annotator, verdict."""
    by = {
        who: dict(zip(g["item_id"], g["verdict"], strict=True))
        for (who,), g in current.group_by("annotator", maintain_order=True)
    }
    rows = []
    for a, b in combinations(sorted(by), 2):
        shared = sorted(set(by[a]) & set(by[b]))
        va, vb = [by[a][i] for i in shared], [by[b][i] for i in shared]
        agree = float(np.mean(np.asarray(va) == np.asarray(vb))) if shared else float("nan")
        rows.append((a, b, len(shared), agree, cohen_kappa(va, vb)))
    schema = {
        "annotator_a": pl.String,
        "annotator_b": pl.String,
        "items": pl.Int64,
        "agreement": pl.Float64,
        "kappa": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def overall(current: pl.DataFrame, categories: Sequence[str]) -> tuple[float, int]:
    """(Fleiss' kappa, items judged by two or more annotators)."""
    counts = current.group_by("item_id").agg(
        [(pl.col("verdict") == c).sum().alias(c) for c in categories]
    )
    matrix = counts.select(categories).to_numpy()
    return fleiss_kappa(matrix), int((matrix.sum(axis=1) >= 2).sum())
