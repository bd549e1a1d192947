"""Text normalization and word tokenization to 64-bit token hashes, for a whole batch at once.

Normalization (used by n-gram decontamination, MinHash and dedup alike):
  * lowercase (ASCII, Latin-1, Greek, Cyrillic capitals);
  * LaTeX: formatting commands (``\\left``, ``\\displaystyle``, ``\\text``, ``\\mathrm``, spacing,
    ...) are dropped, ``\\dfrac``/``\\tfrac`` become ``frac``, other commands keep their name as a
    word (``\\sqrt`` -> ``sqrt``, ``\\pi`` -> ``pi``); braces, ``$``, ``^``, ``_`` are separators;
  * every character that is not a letter or digit (ASCII punctuation, Latin-1 symbols, the
    General Punctuation, arrows, math operators and CJK/fullwidth punctuation blocks) separates
    words; whitespace runs collapse.

A word is a maximal run of the remaining characters. Its hash is FNV-1a over code points with a
MurmurHash3 fmix64 finalizer: stable across processes, versions and platforms, so hashes can be
cached and compared across runs. `normalize` (pure Python) and `tokenize_batch` (one numba pass
over the batch's UTF-8 bytes, taken straight from an Arrow buffer) implement the same rules;
tests hold them equal on the benchmark files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numba
import numpy as np
import pyarrow as pa

_M64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3

NOISE_COMMANDS = (
    "left",
    "right",
    "big",
    "bigl",
    "bigr",
    "bigm",
    "bigg",
    "biggl",
    "biggr",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mathbb",
    "mathcal",
    "mathfrak",
    "boldsymbol",
    "textbf",
    "textit",
    "textrm",
    "texttt",
    "text",
    "mbox",
    "emph",
    "operatorname",
    "quad",
    "qquad",
    "hspace",
    "vspace",
    "limits",
    "nolimits",
    "begin",
    "end",
)
_FRAC_ALIASES = ("dfrac", "tfrac")


def fold_char(cp: int) -> int:
    """Lowercased code point, or -1 when `cp` separates words."""
    if cp < 128:
        if 97 <= cp <= 122 or 48 <= cp <= 57:
            return cp
        if 65 <= cp <= 90:
            return cp + 32
        return -1
    if cp <= 0xBF or cp == 0xD7 or cp == 0xF7:
        return -1
    if 0xC0 <= cp <= 0xDE:
        return cp + 32
    if 0x391 <= cp <= 0x3A9 or 0x410 <= cp <= 0x42F:
        return cp + 32
    if 0x2000 <= cp <= 0x2BFF or 0x3000 <= cp <= 0x303F or 0xFF00 <= cp <= 0xFF0F:
        return -1
    if 0xFE00 <= cp <= 0xFE0F or cp == 0xFEFF:  # variation selectors, BOM
        return -1
    return cp


# compiled, it takes any integer scalar (the kernels pass np.int64 to keep the arithmetic signed)
_fold_jit = cast(
    "Callable[[int | np.integer], int]", numba.njit(cache=True, inline="always")(fold_char)
)


def fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def token_hash(token: str) -> int:
    h = FNV_OFFSET
    for ch in token:
        h = ((h ^ ord(ch)) * FNV_PRIME) & _M64
    return fmix64(h)


_CMD = re.compile(r"\\([A-Za-z]+)")


def _command_repl(m: re.Match[str]) -> str:
    name = m.group(1).lower()
    if name in NOISE_COMMANDS:
        return " "
    return " frac " if name in _FRAC_ALIASES else f" {name} "


def normalize(text: str) -> str:
    """Reference normalizer (pure Python): the words `tokenize_batch` hashes, space-joined."""
    text = _CMD.sub(_command_repl, text)
    chars = []
    for ch in text:
        cp = fold_char(ord(ch))
        chars.append(chr(cp) if cp >= 0 else " ")
    return " ".join("".join(chars).split())


def words(text: str) -> list[str]:
    return normalize(text).split()


@dataclass
class TokenBatch:
    """Token hashes of a batch of documents: doc i owns hashes[offsets[i]:offsets[i + 1]]."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, len = n_docs + 1

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def _noise_table() -> np.ndarray:
    return np.array(sorted(token_hash(c) for c in NOISE_COMMANDS), dtype=np.uint64)


_NOISE = _noise_table()
_FRAC = np.array([token_hash(c) for c in _FRAC_ALIASES], dtype=np.uint64)
_FRAC_HASH = np.uint64(token_hash("frac"))


@numba.njit(cache=True, inline="always")
def _fmix64_jit(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@numba.njit(cache=True, inline="always")
def _decode(data, i, end):
    """Code point at byte i and the index after it (lenient on malformed UTF-8)."""
    b = np.int64(data[i])
    if b < 0x80:
        return b, i + 1
    if b >= 0xF0 and i + 3 < end:
        cp = ((b & 7) << 18) | ((np.int64(data[i + 1]) & 63) << 12)
        return cp | ((np.int64(data[i + 2]) & 63) << 6) | (np.int64(data[i + 3]) & 63), i + 4
    if b >= 0xE0 and i + 2 < end:
        cp = ((b & 15) << 12) | ((np.int64(data[i + 1]) & 63) << 6)
        return cp | (np.int64(data[i + 2]) & 63), i + 3
    if b >= 0xC0 and i + 1 < end:
        return ((b & 31) << 6) | (np.int64(data[i + 1]) & 63), i + 2
    return 0xFFFD, i + 1


@numba.njit(cache=True, nogil=True)
def _tokenize(data, offsets, noise, frac, frac_hash):
    n_docs = len(offsets) - 1
    out = np.empty(2 * len(data) // 3 + n_docs + 1, dtype=np.uint64)  # "1\\a" is 2 words in 3 B
    doc_off = np.empty(n_docs + 1, dtype=np.int64)
    fnv0, prime = np.uint64(FNV_OFFSET), np.uint64(FNV_PRIME)
    n = 0
    for d in range(n_docs):
        doc_off[d] = n
        i, end = offsets[d], offsets[d + 1]
        h, in_word = fnv0, False
        while i < end:
            cp, nxt = _decode(data, i, end)
            if cp == 92 and nxt < end and (65 <= data[nxt] <= 90 or 97 <= data[nxt] <= 122):
                if in_word:
                    out[n] = _fmix64_jit(h)
                    n += 1
                    h, in_word = fnv0, False
                c = fnv0
                j = nxt
                while j < end and (65 <= data[j] <= 90 or 97 <= data[j] <= 122):
                    c = (c ^ np.uint64(_fold_jit(np.int64(data[j])))) * prime
                    j += 1
                c = _fmix64_jit(c)
                k = np.searchsorted(noise, c)
                if not (k < len(noise) and noise[k] == c):
                    out[n] = frac_hash if (c == frac[0] or c == frac[1]) else c
                    n += 1
                i = j
                continue
            f = _fold_jit(cp)
            if f < 0:
                if in_word:
                    out[n] = _fmix64_jit(h)
                    n += 1
                    h, in_word = fnv0, False
            else:
                h = (h ^ np.uint64(f)) * prime
                in_word = True
            i = nxt
        if in_word:
            out[n] = _fmix64_jit(h)
            n += 1
    doc_off[n_docs] = n
    return out[:n].copy(), doc_off


def _utf8_buffers(texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, ...]:
    arr = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(texts, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string()).fill_null("")
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    return data, offsets


def tokenize_batch(texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> TokenBatch:
    """Normalize and tokenize a batch (list of str, Arrow string array, or polars `.to_arrow()`)."""
    data, offsets = _utf8_buffers(texts)
    hashes, doc_off = _tokenize(data, offsets, _NOISE, _FRAC, _FRAC_HASH)
    return TokenBatch(hashes=hashes, offsets=doc_off)
