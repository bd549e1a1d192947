import numpy as np
import pytest

from quality.kernels.ngrams import NgramIndex, ngram_hash, ngram_hashes
from quality.kernels.tokens import normalize, token_hash, tokenize_batch, words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Find  the VALUE, of $x$!", "find the value of x"),
        (r"Compute $\dfrac{1}{2} + \left(\frac{3}{4}\right)$.", "compute frac 1 2 frac 3 4"),
        (r"Let $\displaystyle \sqrt{2}\pi$ be \textbf{big}", "let sqrt 2 pi be big"),
        ("“Quoted” — dash… ÉCOLE Δx × 3", "quoted dash école δx 3"),
        ("a\\\\b \\$5 \\%", "a b 5"),
        ("", ""),
    ],
)
def test_normalize_examples(raw, expected):
    assert normalize(raw) == expected


def test_tokenizer_kernel_matches_reference_on_benchmark_text(benchmark_rows, math_test_rows):
    texts = [r["problem"] for rows in benchmark_rows.values() for r in rows]
    texts += [r["problem"] for r in math_test_rows[:1500]]
    batch = tokenize_batch(texts)
    assert batch.n_docs == len(texts)
    for i, text in enumerate(texts):
        ref = np.array([token_hash(w) for w in words(text)], dtype=np.uint64)
        assert np.array_equal(batch.hashes[batch.offsets[i] : batch.offsets[i + 1]], ref), text


def test_ngram_hashes_match_reference_and_stay_inside_docs():
    texts = ["one two three four five six", "seven eight", "nine ten eleven"]
    batch = tokenize_batch(texts)
    h, docs = ngram_hashes(batch, 3)
    expected = [ngram_hash(w[i : i + 3]) for w in map(words, texts) for i in range(len(w) - 2)]
    assert h.tolist() == expected
    assert docs.tolist() == [0, 0, 0, 0, 2]


def test_probe_counts_distinct_shared_ngrams():
    bench = tokenize_batch(
        ["alpha beta gamma delta epsilon zeta eta", "completely different words go here now"]
    )
    index = NgramIndex.build(bench, n=4, min_short=99)
    corpus = tokenize_batch(
        [
            "xx Alpha, beta GAMMA delta epsilon yy alpha beta gamma delta",  # 2 distinct 4-grams
            "nothing in common with any of them",
            "alpha beta gamma",  # too short for a 4-gram
        ]
    )
    hits = index.probe(corpus)
    assert hits.rows() == [(0, 0, 2)]


def test_windows_do_not_cross_document_boundaries():
    index = NgramIndex.build(tokenize_batch(["c d e f"]), n=4, min_short=99)
    hits = index.probe(tokenize_batch(["a b c d", "e f g h"]))
    assert hits.height == 0


def test_short_benchmark_items_match_by_containment():
    bench = tokenize_batch([r"Compute $\dbinom{31}{1}$.", "a b"])  # 5 words; 2 words < min_short
    index = NgramIndex.build(bench, n=13, min_short=4)
    corpus = tokenize_batch(
        [
            "Warm-up: compute \\dbinom{31}{1} and then move on.",
            "compute dbinom 31 2",
            "a b a b a b",
        ]
    )
    assert index.probe(corpus).rows() == [(0, 0, 1)]


def test_probe_survives_many_bitmap_hits():
    words_ = [f"w{i}" for i in range(400)]
    text = " ".join(words_)
    index = NgramIndex.build(tokenize_batch([text]), n=5)
    hits = index.probe(tokenize_batch([text] * 300))  # every window hits: overflows the first cap
    assert hits["matched"].to_list() == [396] * 300
