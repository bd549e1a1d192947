"""Word n-gram hashing and exact n-gram overlap against an index, vectorized over a batch.

An n-gram hash is a polynomial over the word hashes of `text.py` (base `BASE`, mod 2^64) with an
fmix64 finalizer: ``fmix64(sum_j t_j * BASE^(n-1-j))``. A window never crosses documents.

Documents shorter than n words cannot share an n-gram, yet MATH-500 has problems of 3 words.
The index therefore also holds the whole-document hash of every short item. A short document
matches a short item with the same words (exact match, any length), and an item with at least
`min_short` words also matches any document containing its word sequence (a containment check,
computed only at positions whose first word starts such an item).

Probing: one rolling-hash pass per document (O(1) per word), a bitmap (~256 bits per indexed
hash, at most 1 GiB) rejects almost every window with one memory access, and the few survivors
are confirmed against the sorted hash array. A hit is (document, benchmark item, number of
distinct matched windows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
import polars as pl

from quality.kernels.tokens import _M64, TokenBatch, fmix64, token_hash
from quality.kernels.tokens import _fmix64_jit as _fmix

BASE = 0x9E3779B97F4A7C15  # odd, so multiplication by it is a bijection mod 2^64


def ngram_hash(words: Sequence[str]) -> int:
    """Reference (pure Python) hash of one window of words."""
    acc = 0
    for w in words:
        acc = (acc * BASE + token_hash(w)) & _M64
    return fmix64(acc)


@numba.njit(cache=True, nogil=True)
def _windows(th, offsets, n, min_short):
    """All n-gram hashes (and whole-doc hashes of docs with min_short <= len < n)."""
    total = 0
    for d in range(len(offsets) - 1):
        ln = offsets[d + 1] - offsets[d]
        total += ln - n + 1 if ln >= n else (1 if ln >= min_short and ln > 0 else 0)
    hashes = np.empty(total, dtype=np.uint64)
    docs = np.empty(total, dtype=np.int64)
    lens = np.empty(total, dtype=np.int64)
    base = np.uint64(BASE)
    top = np.uint64(1)
    for _ in range(n - 1):
        top *= base
    k = 0
    for d in range(len(offsets) - 1):
        s, e = offsets[d], offsets[d + 1]
        ln = e - s
        if ln < n:
            if ln >= min_short and ln > 0:
                acc = np.uint64(0)
                for j in range(s, e):
                    acc = acc * base + th[j]
                hashes[k], docs[k], lens[k] = _fmix(acc), d, ln
                k += 1
            continue
        acc = np.uint64(0)
        for j in range(s, s + n):
            acc = acc * base + th[j]
        hashes[k], docs[k], lens[k] = _fmix(acc), d, n
        k += 1
        for i in range(s + 1, e - n + 1):
            acc = (acc - th[i - 1] * top) * base + th[i + n - 1]
            hashes[k], docs[k], lens[k] = _fmix(acc), d, n
            k += 1
    return hashes, docs, lens


@numba.njit(cache=True, inline="always")
def _in_bitmap(bitmap, shift, h):
    b = h >> shift
    return (bitmap[b >> np.uint64(6)] >> (b & np.uint64(63))) & np.uint64(1)


@numba.njit(cache=True, nogil=True)
def _probe(th, offsets, n, bitmap, shift, starters, sshift, short_lens, cap):
    """Windows whose hash passes the bitmap: (doc, hash). Returns count > cap on overflow."""
    out_h = np.empty(cap, dtype=np.uint64)
    out_d = np.empty(cap, dtype=np.int64)
    base = np.uint64(BASE)
    top = np.uint64(1)
    for _ in range(n - 1):
        top *= base
    k = 0
    has_short = len(short_lens) > 0
    for d in range(len(offsets) - 1):
        s, e = offsets[d], offsets[d + 1]
        if 0 < e - s < n:  # a short doc: its whole-doc hash (exact match of a short item)
            a1 = np.uint64(0)
            for j in range(s, e):
                a1 = a1 * base + th[j]
            h = _fmix(a1)
            if _in_bitmap(bitmap, shift, h):
                if k < cap:
                    out_h[k], out_d[k] = h, d
                k += 1
        acc = np.uint64(0)
        for i in range(s, e):
            if i == s:
                if e - s >= n:
                    for j in range(s, s + n):
                        acc = acc * base + th[j]
            elif i + n <= e:
                acc = (acc - th[i - 1] * top) * base + th[i + n - 1]
            if i + n <= e:
                h = _fmix(acc)
                if _in_bitmap(bitmap, shift, h):
                    if k < cap:
                        out_h[k], out_d[k] = h, d
                    k += 1
            if has_short and _in_bitmap(starters, sshift, th[i]):
                a2 = np.uint64(0)
                j = 0
                for ln in short_lens:  # ascending
                    if i + ln > e:
                        break
                    while j < ln:
                        a2 = a2 * base + th[i + j]
                        j += 1
                    h = _fmix(a2)
                    if _in_bitmap(bitmap, shift, h):
                        if k < cap:
                            out_h[k], out_d[k] = h, d
                        k += 1
    return out_h[: min(k, cap)], out_d[: min(k, cap)], k


def _bitmap(hashes: np.ndarray, bits_per_item: int = 256) -> tuple[np.ndarray, np.uint64]:
    log2 = min(33, max(16, int(np.ceil(np.log2(max(1, len(hashes)) * bits_per_item)))))
    shift = np.uint64(64 - log2)
    bitmap = np.zeros(1 << max(0, log2 - 6), dtype=np.uint64)
    b = hashes >> shift
    np.bitwise_or.at(
        bitmap, (b >> np.uint64(6)).astype(np.int64), np.uint64(1) << (b & np.uint64(63))
    )
    return bitmap, shift


@dataclass
class NgramIndex:
    """Sorted n-gram hashes of a reference set (benchmark items), with the item of each."""

    n: int
    hashes: np.ndarray  # uint64, sorted
    items: np.ndarray  # int64 item index, aligned with hashes
    bitmap: np.ndarray
    shift: np.uint64
    starters: np.ndarray
    sshift: np.uint64
    short_lens: np.ndarray  # ascending lengths of short items (< n words)

    @classmethod
    def build(
        cls, batch: TokenBatch, n: int = 13, min_short: int = 6, max_df: int = 0
    ) -> NgramIndex:
        """`max_df` > 0 drops n-grams found in more than `max_df` distinct items: boilerplate
        such as "where m and n are relatively prime positive integers find m n" (8 items of
        AIME/MATH-500) would otherwise flag every problem that uses the phrase."""
        h, docs, lens = _windows(batch.hashes, batch.offsets, n, 1)
        if max_df > 0:
            df = pl.DataFrame({"h": h, "d": docs}).select(
                pl.col("d").n_unique().over("h").alias("df")
            )["df"]
            keep = (df <= max_df).to_numpy()
            h, docs, lens = h[keep], docs[keep], lens[keep]
        order = np.argsort(h, kind="stable")
        bitmap, shift = _bitmap(h)
        short = (lens < n) & (lens >= min_short)
        first = batch.hashes[batch.offsets[:-1][docs[short]]]
        starters, sshift = _bitmap(first if len(first) else np.zeros(1, np.uint64))
        return cls(
            n=n,
            hashes=h[order],
            items=docs[order],
            bitmap=bitmap,
            shift=shift,
            starters=starters,
            sshift=sshift,
            short_lens=np.unique(lens[short]).astype(np.int64),
        )

    def probe(self, batch: TokenBatch) -> pl.DataFrame:
        """Hits of a batch: one row per (doc, item) with `matched` distinct shared windows."""
        cap = len(batch.hashes) // 16 + 4096
        args = (self.bitmap, self.shift, self.starters, self.sshift, self.short_lens)
        h, d, k = _probe(batch.hashes, batch.offsets, self.n, *args, cap)
        if k > cap:
            h, d, _ = _probe(batch.hashes, batch.offsets, self.n, *args, k)
        lo = np.searchsorted(self.hashes, h, side="left")
        hi = np.searchsorted(self.hashes, h, side="right")
        cnt = hi - lo
        keep = cnt > 0
        d, h, lo, cnt = d[keep], h[keep], lo[keep], cnt[keep]
        rep = np.repeat(np.arange(len(d)), cnt)
        pos = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(len(rep))
        hits = pl.DataFrame(
            {"doc": d[rep], "item": self.items[pos], "hash": h[rep]},
            schema={"doc": pl.Int64, "item": pl.Int64, "hash": pl.UInt64},
        )
        return (
            hits.group_by("doc", "item")
            .agg(pl.col("hash").n_unique().alias("matched"))
            .sort("doc", "item")
        )


def ngram_hashes(batch: TokenBatch, n: int, min_short: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, doc index) of every n-word window; docs shorter than n give their whole-doc hash
    when they have at least `min_short` words (0: never)."""
    h, docs, _ = _windows(batch.hashes, batch.offsets, n, min_short if min_short > 0 else n)
    return h, docs
