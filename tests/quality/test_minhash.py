import datasketch
import numpy as np
import pytest

from quality.kernels.minhash import (
    MAX_HASH,
    jaccard,
    minhash_texts,
    permutations,
    shingle_hash32,
    signatures_from_hashes,
)
from quality.kernels.tokens import words

SCHEMES = ["affine32", "legacy"]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("seed", [1, 7])
def test_permutations_are_datasketchs(scheme, seed):
    ref = datasketch.MinHash(num_perm=64, seed=seed, scheme=scheme).permutations
    assert np.array_equal(permutations(64, seed, scheme).astype(np.uint64), ref.astype(np.uint64))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_signatures_identical_to_datasketch_given_same_hashes(scheme):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 400, 40)
    h32 = rng.integers(0, 2**32, lengths.sum(), dtype=np.uint64).astype(np.uint32)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    sig = signatures_from_hashes(h32, offsets, 128, 1, scheme)
    for d in range(len(lengths)):
        m = datasketch.MinHash(num_perm=128, seed=1, scheme=scheme, hashfunc=int)
        m.update_batch(h32[offsets[d] : offsets[d + 1]].tolist())
        assert np.array_equal(sig[d], m.hashvalues.astype(np.uint32))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_signatures_from_text_identical_to_datasketch_with_shingle_hashfunc(scheme, benchmark_rows):
    texts = [r["problem"] for r in benchmark_rows["math500"][:60]] + ["", "two words"]
    sig = minhash_texts(texts, num_perm=128, k=5, seed=1, scheme=scheme)
    for text, row in zip(texts, sig, strict=True):
        w = words(text)
        shingles = [" ".join(w[i : i + 5]) for i in range(len(w) - 4)] or (
            [" ".join(w)] if w else []
        )
        m = datasketch.MinHash(num_perm=128, seed=1, scheme=scheme, hashfunc=shingle_hash32)
        m.update_batch(shingles)
        assert np.array_equal(row, m.hashvalues.astype(np.uint32)), text


def test_empty_document_has_empty_signature():
    sig = minhash_texts(["", "   $$ ..."], num_perm=32)
    assert (sig == np.uint32(MAX_HASH)).all()


def test_jaccard_estimate_tracks_true_jaccard():
    rng = np.random.default_rng(1)
    base = [f"w{i}" for i in rng.integers(0, 10**6, 2000)]
    other = base[:1400] + [f"z{i}" for i in range(600)]
    sig = minhash_texts([" ".join(base), " ".join(other)], num_perm=256, k=1)
    true = len(set(base) & set(other)) / len(set(base) | set(other))
    assert abs(jaccard(sig[0], sig[1]) - true) < 0.08
