"""Synthetic corpus for the quality benches: Zipf-distributed vocabulary, planted near-duplicates.

Documents look like prose to the tokenizer (capitalised sentence starts, commas, full stops), so
normalization does real work. A fraction of documents are near-duplicates of an earlier document:
a copy with a few percent of its words replaced, deleted or inserted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Corpus:
    texts: list[str]
    dup_of: np.ndarray  # index of the source doc for planted near-dups, -1 otherwise
    n_tokens: int


def _vocabulary(rng: np.random.Generator, size: int) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 11, size=size)
    words = {"".join(rng.choice(letters, n)) for n in lengths}
    return np.array(sorted(words))


def _render(words: np.ndarray, rng: np.random.Generator) -> str:
    out = words.astype(object)
    starts = np.flatnonzero(rng.random(len(out)) < 1 / 12)
    for i in starts:  # sentence starts: capitalise, full stop before
        out[i] = out[i].capitalize()
        if i > 0:
            out[i - 1] = out[i - 1] + "."
    for i in np.flatnonzero(rng.random(len(out)) < 1 / 25):
        out[i] = out[i] + ","
    return " ".join(out) + "."


def _mutate(
    words: np.ndarray, rng: np.random.Generator, vocab_size: int, rate: float
) -> np.ndarray:
    """Replace, delete and insert about `rate` of the words (a third each)."""
    n = len(words)
    k = max(1, int(n * rate / 3))
    w = words.copy()
    w[rng.choice(n, k, replace=False)] = rng.integers(0, vocab_size, k)
    w = np.delete(w, rng.choice(len(w), k, replace=False))
    return np.insert(w, rng.choice(len(w), k), rng.integers(0, vocab_size, k))


def make_corpus(
    n_docs: int = 20_000,
    words_per_doc: int = 300,
    vocab_size: int = 50_000,
    zipf_a: float = 1.1,
    dup_fraction: float = 0.1,
    edit_rate: float = 0.02,
    seed: int = 0,
) -> Corpus:
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng, vocab_size)
    vocab_size = len(vocab)
    ranks = rng.zipf(zipf_a, size=(n_docs, words_per_doc)) - 1
    ids = np.where(ranks < vocab_size, ranks, rng.integers(0, vocab_size, ranks.shape))
    dup_of = np.full(n_docs, -1, dtype=np.int64)
    n_dups = int(n_docs * dup_fraction)
    dup_idx = rng.choice(np.arange(n_docs // 2, n_docs), n_dups, replace=False)
    dup_of[dup_idx] = rng.integers(0, n_docs // 2, n_dups)
    docs = [ids[i] for i in range(n_docs)]
    for i in dup_idx:
        docs[i] = _mutate(docs[dup_of[i]], rng, vocab_size, edit_rate)
    texts = [_render(vocab[d], rng) for d in docs]
    return Corpus(texts=texts, dup_of=dup_of, n_tokens=int(sum(len(d) for d in docs)))
