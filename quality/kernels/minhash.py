"""MinHash signatures for a whole batch, with datasketch's parameters.

Given the same 32-bit shingle hashes, `signatures` equals ``datasketch.MinHash(num_perm, seed,
scheme=..., hashfunc=...)`` bit for bit, for both of datasketch's schemes:

* ``affine32`` (datasketch >= 2.0 default): ``a * fmix32(h) + b mod 2^32`` with odd ``a``. A
  bijection, so no fold bias on large sets; uint32 SIMD arithmetic, ~3x faster than legacy.
* ``legacy`` (datasketch < 2.0): ``((a * h + b) mod 2^64) mod (2^61 - 1)`` then the low 32 bits.

Permutations come from ``np.random.RandomState(seed)`` exactly as datasketch draws them, so
signatures made here can be loaded as ``datasketch.MinHash(hashvalues=sig, seed=seed,
scheme=...)`` and compared with datasketch-made ones.

Shingles are word k-grams (`ngrams.py`); a shingle's 32-bit hash is the top half of its 64-bit
n-gram hash (`shingle_hash32`, usable as datasketch's ``hashfunc`` on the space-joined words).
A document shorter than k words is one shingle (all its words); an empty document has the empty
signature (all ``max_hash``). The kernel is numba: one pass per document with the permutation
loop innermost, which LLVM vectorizes (measured in bench/dedup.py against NumPy, datasketch and
rensa); ``parallel=True`` spreads documents over cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numba
import numpy as np

from quality.kernels.ngrams import BASE, ngram_hash
from quality.kernels.tokens import TokenBatch, tokenize_batch
from quality.kernels.tokens import _fmix64_jit as _fmix64

Scheme = Literal["affine32", "legacy"]
MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64((1 << 32) - 1)


def permutations(num_perm: int, seed: int = 1, scheme: Scheme = "affine32") -> np.ndarray:
    """(2, num_perm) array of (a, b), drawn exactly as datasketch's MinHash._init_permutations."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        pairs = [
            (
                gen.randint(1, MERSENNE_PRIME, dtype=np.uint64),
                gen.randint(0, MERSENNE_PRIME, dtype=np.uint64),
            )
            for _ in range(num_perm)
        ]
        return np.array(pairs, dtype=np.uint64).T
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return np.array([a, b])


def shingle_hash32(shingle: str | bytes) -> int:
    """datasketch-usable hashfunc: 32-bit hash of a space-joined, normalized word shingle."""
    s = shingle.decode() if isinstance(shingle, bytes) else shingle
    return ngram_hash(s.split(" ")) >> 32


@numba.njit(cache=True, inline="always")
def _fmix32(h):
    # numba widens uint32 products to 64 bits: truncate after each multiply
    h = np.uint32(h ^ (h >> np.uint32(16)))
    h = np.uint32(h * np.uint32(0x85EBCA6B))
    h = np.uint32(h ^ (h >> np.uint32(13)))
    h = np.uint32(h * np.uint32(0xC2B2AE35))
    return np.uint32(h ^ (h >> np.uint32(16)))


@numba.njit(cache=True, inline="always")
def _doc_affine32(h32, s, e, a, b, out):
    out[:] = np.uint32(0xFFFFFFFF)
    for i in range(s, e):
        hv = _fmix32(h32[i])
        for k in range(len(a)):
            out[k] = min(out[k], np.uint32(a[k] * hv + b[k]))


@numba.njit(cache=True, inline="always")
def _doc_legacy(h32, s, e, a, b, out):
    p = np.uint64((1 << 61) - 1)
    out[:] = np.uint32(0xFFFFFFFF)
    for i in range(s, e):
        hv = np.uint64(h32[i])
        for k in range(len(a)):
            v = a[k] * hv + b[k]
            v = (v & p) + (v >> np.uint64(61))
            v = min(v, v - p)  # v - p wraps above v when v < p: branchless conditional subtract
            out[k] = min(out[k], np.uint32(v & np.uint64(0xFFFFFFFF)))


@numba.njit(cache=True, parallel=True, nogil=True)
def _signatures(h32, offsets, a, b, legacy):
    n_docs = len(offsets) - 1
    sig = np.empty((n_docs, len(a)), dtype=np.uint32)
    for d in numba.prange(n_docs):
        if legacy:
            _doc_legacy(h32, offsets[d], offsets[d + 1], a, b, sig[d])
        else:
            _doc_affine32(h32, offsets[d], offsets[d + 1], a, b, sig[d])
    return sig


def signatures_from_hashes(
    h32: np.ndarray,
    offsets: np.ndarray,
    num_perm: int = 128,
    seed: int = 1,
    scheme: Scheme = "affine32",
) -> np.ndarray:
    """(n_docs, num_perm) uint32; doc i's shingle hashes are h32[offsets[i]:offsets[i + 1]]."""
    a, b = permutations(num_perm, seed, scheme)
    h32 = np.ascontiguousarray(h32, dtype=np.uint32)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    return _signatures(h32, offsets, a, b, scheme == "legacy")


@numba.njit(cache=True, parallel=True, nogil=True)
def _shingles32(th, offsets, k):
    n_docs = len(offsets) - 1
    out_off = np.empty(n_docs + 1, dtype=np.int64)
    total = 0
    for d in range(n_docs):
        out_off[d] = total
        ln = offsets[d + 1] - offsets[d]
        total += ln - k + 1 if ln >= k else (1 if ln > 0 else 0)
    out_off[n_docs] = total
    out = np.empty(total, dtype=np.uint32)
    base, top = np.uint64(BASE), np.uint64(1)
    for _ in range(k - 1):
        top *= base
    for d in numba.prange(n_docs):
        s, e, o = offsets[d], offsets[d + 1], out_off[d]
        acc = np.uint64(0)
        for j in range(s, min(e, s + k)):
            acc = acc * base + th[j]
        if e > s:
            out[o] = np.uint32(_fmix64(acc) >> np.uint64(32))
        for i in range(s + 1, e - k + 1):
            acc = (acc - th[i - 1] * top) * base + th[i + k - 1]
            out[o + i - s] = np.uint32(_fmix64(acc) >> np.uint64(32))
    return out, out_off


def shingles(batch: TokenBatch, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """32-bit shingle hashes (top half of the k-gram hash) and per-doc offsets; a doc shorter
    than k words is one shingle of all its words."""
    return _shingles32(batch.hashes, batch.offsets, k)


def minhash_texts(
    texts: Sequence[str],
    num_perm: int = 128,
    k: int = 5,
    seed: int = 1,
    scheme: Scheme = "affine32",
) -> np.ndarray:
    """Signatures straight from raw text: normalize, tokenize, shingle, MinHash."""
    h32, offsets = shingles(tokenize_batch(texts), k)
    return signatures_from_hashes(h32, offsets, num_perm, seed, scheme)


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of aligned signature rows (fraction of equal slots)."""
    return (sig_a == sig_b).mean(axis=-1)


def is_empty(sig: np.ndarray) -> np.ndarray:
    return (sig == np.uint32(MAX_HASH)).all(axis=-1)
