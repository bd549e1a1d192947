"""LSH banding over MinHash signatures: candidate pairs by sorting band hashes, verified pairs,
and near-duplicate clusters.

Bands and rows for a Jaccard threshold are chosen exactly as datasketch's MinHashLSH does
(minimise the weighted integral of false-positive and false-negative probability). Every
candidate pair is then verified by its estimated Jaccard (fraction of equal signature slots), so
what comes out is "estimated Jaccard >= threshold", not just "collided in a band".

Inside a corpus, each band bucket contributes edges from its first member (lowest row) to every
other member: n - 1 edges instead of n^2 / 2, and connectivity is all clustering needs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl
from scipy.integrate import quad
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from quality.kernels.minhash import MAX_HASH
from quality.kernels.ngrams import BASE

_C1, _C2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


@lru_cache(maxsize=64)
def optimal_params(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) as datasketch.lsh._optimal_param."""
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = quad(lambda s, b=b, r=r: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)[0]
            fn = quad(lambda s, b=b, r=r: (1 - s ** float(r)) ** float(b), threshold, 1.0)[0]
            err = fp * fp_weight + fn * fn_weight
            if err < best:
                best, opt = err, (b, r)
    return opt


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs, bands) uint64: each band's `rows` signature values hashed together."""
    x = sig[:, : bands * rows].reshape(len(sig), bands, rows).astype(np.uint64)
    acc: np.ndarray = np.zeros((len(sig), bands), dtype=np.uint64)
    for j in range(rows):
        acc = acc * np.uint64(BASE) + x[:, :, j]
    acc ^= acc >> np.uint64(33)
    acc *= _C1
    acc ^= acc >> np.uint64(33)
    acc *= _C2
    return acc ^ (acc >> np.uint64(33))


def _nonempty(sig: np.ndarray) -> np.ndarray:
    return np.flatnonzero(~(sig == np.uint32(MAX_HASH)).all(axis=1))


def candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique (i, j), i < j, that share at least one band bucket (empty signatures excluded)."""
    rows_idx = _nonempty(sig)
    bh = band_hashes(sig[rows_idx], bands, rows)
    src, dst = [], []
    for k in range(bands):
        order = np.argsort(bh[:, k], kind="stable")
        hs = bh[order, k]
        new = np.ones(len(hs), dtype=bool)
        new[1:] = hs[1:] != hs[:-1]
        first = order[np.maximum.accumulate(np.where(new, np.arange(len(hs)), 0))]
        src.append(first[~new])
        dst.append(order[~new])
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i, j = rows_idx[np.concatenate(src)], rows_idx[np.concatenate(dst)]
    key = np.unique(np.minimum(i, j).astype(np.int64) * len(sig) + np.maximum(i, j))
    return key // len(sig), key % len(sig)


def pair_jaccard(sig_a: np.ndarray, sig_b: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    out = np.empty(len(i), dtype=np.float64)
    for s in range(0, len(i), 65536):  # bounded temporaries
        sl = slice(s, s + 65536)
        out[sl] = (sig_a[i[sl]] == sig_b[j[sl]]).mean(axis=1)
    return out


def similar_pairs(sig: np.ndarray, threshold: float) -> pl.DataFrame:
    """Verified pairs (i, j, jaccard) inside one signature matrix with jaccard >= threshold."""
    bands, rows = optimal_params(threshold, sig.shape[1])
    i, j = candidate_pairs(sig, bands, rows)
    jac = pair_jaccard(sig, sig, i, j)
    keep = jac >= threshold
    return pl.DataFrame({"i": i[keep], "j": j[keep], "jaccard": jac[keep]})


def clusters(sig: np.ndarray, threshold: float, rank: np.ndarray | None = None) -> pl.DataFrame:
    """Near-duplicate clusters of size >= 2: (row, cluster, representative, jaccard_to_rep).

    The representative is the member with the lowest `rank` (default: lowest row), and `cluster`
    is the representative's row.
    """
    n = len(sig)
    rank = np.arange(n) if rank is None else np.asarray(rank)
    pairs = similar_pairs(sig, threshold)
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    members = np.flatnonzero(sizes[labels] >= 2)
    df = pl.DataFrame({"row": members, "label": labels[members], "rank": rank[members]})
    reps = df.sort("rank", "row").group_by("label", maintain_order=True).first()
    df = df.join(reps.select("label", pl.col("row").alias("representative")), on="label")
    rows_, rep = df["row"].to_numpy(), df["representative"].to_numpy()
    return pl.DataFrame(
        {
            "row": rows_,
            "cluster": rep,
            "representative": rep,
            "jaccard": pair_jaccard(sig, sig, rows_, rep),
        }
    ).sort("row")


class LSHIndex:
    """Banded index over reference signatures (e.g. benchmark items) for corpus queries."""

    def __init__(self, sig: np.ndarray, threshold: float):
        self.sig = sig
        self.threshold = threshold
        self.bands, self.rows = optimal_params(threshold, sig.shape[1])
        idx = _nonempty(sig)
        self._table = self._long(band_hashes(sig[idx], self.bands, self.rows), idx, "ref")

    @staticmethod
    def _long(bh: np.ndarray, idx: np.ndarray, name: str) -> pl.DataFrame:
        n, b = bh.shape
        return pl.DataFrame(
            {
                "band": np.tile(np.arange(b, dtype=np.int32), n),
                "h": bh.ravel(),
                name: np.repeat(idx, b),
            }
        )

    def query(self, sig: np.ndarray, verify: bool = True) -> pl.DataFrame:
        """(query, ref, jaccard) with jaccard >= threshold; verify=False: every band collision."""
        idx = _nonempty(sig)
        q = self._long(band_hashes(sig[idx], self.bands, self.rows), idx, "query")
        pairs = q.join(self._table, on=["band", "h"]).select("query", "ref").unique()
        qi, ri = pairs["query"].to_numpy(), pairs["ref"].to_numpy()
        jac = pair_jaccard(sig, self.sig, qi, ri)
        keep = jac >= self.threshold if verify else np.ones(len(jac), dtype=bool)
        return pl.DataFrame({"query": qi[keep], "ref": ri[keep], "jaccard": jac[keep]}).sort(
            "query", "ref"
        )
