"""Value signatures: a hash of the values a problem states, blind to how it is worded.

The values of a text are its digit runs, its one-letter variables (not "a", "A", "i", "I", which
are words) and its runs of two or more capitals (triangle "ABC", the word "ELLIPSE" to be
arranged); LaTeX command names (`\\frac`, `\\sqrt`) are skipped. The signature is an
order-free hash of their multiset (lowercased), so a paraphrase that keeps every number and
variable keeps it, and changing one number changes it. Decontamination uses it to find
rewordings that share too few word shingles for MinHash (`quality.decontam.index`).

One numba pass over the UTF-8 bytes of an Arrow string array (ASCII rules; other characters
separate runs). 0 means "no signature": the text has no values, or is longer than `max_len`
bytes (a trace never states exactly a problem's values and nothing else).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import pyarrow as pa

from quality.kernels.tokens import FNV_OFFSET, FNV_PRIME, _utf8_buffers
from quality.kernels.tokens import _fmix64_jit as _fmix


@numba.njit(cache=True, inline="always")
def _letter(b):
    return (65 <= b <= 90) or (97 <= b <= 122)


@numba.njit(cache=True, inline="always")
def _digit(b):
    return 48 <= b <= 57


@numba.njit(cache=True, nogil=True)
def _signatures(data, offsets, max_len):
    n_docs = len(offsets) - 1
    out = np.zeros(n_docs, dtype=np.uint64)
    fnv0, prime = np.uint64(FNV_OFFSET), np.uint64(FNV_PRIME)
    for d in range(n_docs):
        i, end = offsets[d], offsets[d + 1]
        if end - i > max_len:
            continue
        total, count = np.uint64(0), 0
        while i < end:
            b = data[i]
            if b == 92 and i + 1 < end and _letter(data[i + 1]):  # \command: not a value
                i += 1
                while i < end and _letter(data[i]):
                    i += 1
                continue
            if not (_letter(b) or _digit(b)):
                i += 1
                continue
            h, length, upper, first = fnv0, 0, 0, b
            digits = _digit(b)
            while i < end and (_digit(data[i]) if digits else _letter(data[i])):
                c = np.uint64(data[i])
                if 65 <= data[i] <= 90:
                    upper += 1
                    c += np.uint64(32)
                h = (h ^ c) * prime
                length += 1
                i += 1
            if digits:
                keep = True
            elif length == 1:
                keep = not (first == 97 or first == 65 or first == 105 or first == 73)
            else:
                keep = upper == length
            if keep:
                total += _fmix(h)
                count += 1
        if count:
            out[d] = _fmix(total + np.uint64(count)) | np.uint64(1)
    return out


def value_signatures(
    texts: Sequence[str] | pa.Array | pa.ChunkedArray, max_len: int = 1 << 62
) -> np.ndarray:
    """uint64 signature per text (0: none)."""
    data, offsets = _utf8_buffers(texts)
    return _signatures(data, offsets, max_len)
