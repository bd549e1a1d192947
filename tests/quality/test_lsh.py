import datasketch
import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from quality.kernels.lsh import LSHIndex, clusters, optimal_params
from quality.kernels.minhash import minhash_texts
from quality.kernels.tokens import words


def _shingles(text: str, k: int = 5) -> set[str]:
    w = words(text)
    return {" ".join(w[i : i + k]) for i in range(len(w) - k + 1)}


def _true_jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


@pytest.fixture(scope="module")
def planted():
    """300 random docs of 200 words and one near-duplicate each for the first 100 (2 edits)."""
    rng = np.random.default_rng(3)
    docs = [rng.integers(0, 5000, 200) for _ in range(300)]
    dup_of = {}
    for src in range(100):
        d = docs[src].copy()
        d[rng.choice(200, 2, replace=False)] = rng.integers(5000, 6000, 2)
        dup_of[len(docs)] = src
        docs.append(d)
    texts = [" ".join(f"w{t}" for t in d) for d in docs]
    return texts, dup_of


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_optimal_params_match_datasketch(threshold):
    assert optimal_params(threshold, 128) == _optimal_param(threshold, 128, 0.5, 0.5)


def test_lsh_recall_on_planted_near_duplicates(planted):
    texts, dup_of = planted
    threshold = 0.7
    above = {d: s for d, s in dup_of.items() if _true_jaccard(texts[d], texts[s]) >= threshold}
    assert len(above) >= 90
    sig = minhash_texts(texts, num_perm=128, k=5)
    cl = clusters(sig, threshold)
    cluster_of = dict(zip(cl["row"].to_list(), cl["cluster"].to_list(), strict=True))
    found = sum(
        1 for d, s in above.items() if d in cluster_of and cluster_of.get(s) == cluster_of[d]
    )
    recall = found / len(above)
    print(f"LSH recall {recall:.3f} on {len(above)} planted pairs with true Jaccard >= {threshold}")
    assert recall >= 0.95
    assert cl.height <= 2 * len(dup_of) + 10  # unrelated random docs stay out of clusters


def test_representative_is_lowest_rank_and_rows_are_clustered_by_it():
    base = " ".join(f"t{i}" for i in range(120))
    texts = [base, "unrelated " * 30, base + " tail", base.replace("t5 ", "t5 x ")]
    sig = minhash_texts(texts, num_perm=128, k=3)
    cl = clusters(sig, 0.8, rank=np.array([5, 0, 1, 9]))
    assert cl["row"].to_list() == [0, 2, 3]
    assert set(cl["representative"].to_list()) == {2}
    assert cl.filter(cl["row"] == 2)["jaccard"].item() == 1.0


def test_index_candidates_equal_datasketch_lsh(planted):
    texts, _ = planted
    sig = minhash_texts(texts, num_perm=128, k=5)
    ref, queries = sig[:250], sig[250:]
    index = LSHIndex(ref, threshold=0.6)
    ours = index.query(queries, verify=False)
    lsh = datasketch.MinHashLSH(threshold=0.6, num_perm=128)
    for i, row in enumerate(ref):
        lsh.insert(i, datasketch.MinHash(num_perm=128, hashvalues=row, scheme="affine32"))
    theirs = {
        (q, r)
        for q, row in enumerate(queries)
        for r in lsh.query(datasketch.MinHash(num_perm=128, hashvalues=row, scheme="affine32"))
    }
    assert set(zip(ours["query"].to_list(), ours["ref"].to_list(), strict=True)) == theirs
    verified = index.query(queries)
    assert (verified["jaccard"] >= 0.6).all() and verified.height >= 45
