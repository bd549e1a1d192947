"""13-gram decontamination throughput vs a straightforward Python implementation, end to end.

Usage:  .venv/bin/python bench/decontam.py [--docs 20000] [--words 300]

Corpus: synthetic Zipf-vocabulary documents (bench/_corpus.py); 1% of them get a real benchmark
problem pasted in. Reference set: every item of the shipped registry (AIME 24/25, MATH-500,
GPQA Diamond, GSM8K test). Both implementations start from raw text and must flag the same docs.
Baseline: regex normalize, split, a set of hashed 13-gram tuples per doc, intersected with the
benchmark set. Ours: numba tokenizer + rolling 13-gram hash + bitmap probe (BenchmarkIndex).
One thread (numba, Polars) for the per-core figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._corpus import make_corpus  # noqa: E402
from quality.benchmarks import Registry  # noqa: E402
from quality.decontam import BenchmarkIndex, DecontamConfig  # noqa: E402

N = 13
TOKENS_8B = 8.3e9
WORDS_PER_TOKEN = 0.75
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _baseline_words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text.lower()).split()


def _baseline_index(texts: list[str]) -> set[int]:
    out: set[int] = set()
    for t in texts:
        w = _baseline_words(t)
        out.update(hash(tuple(w[i : i + N])) for i in range(len(w) - N + 1))
    return out


def _baseline(texts: list[str], bench: set[int]) -> set[int]:
    flagged = set()
    for d, t in enumerate(texts):
        w = _baseline_words(t)
        grams = {hash(tuple(w[i : i + N])) for i in range(len(w) - N + 1)}
        if grams & bench:
            flagged.add(d)
    return flagged


def _plant(texts: list[str], problems: list[str], rate: float = 0.01) -> list[int]:
    rng = np.random.default_rng(1)
    docs = rng.choice(len(texts), int(len(texts) * rate), replace=False)
    for d in docs:
        words = texts[d].split(" ")
        at = int(rng.integers(0, len(words)))
        p = problems[int(rng.integers(0, len(problems)))]
        texts[d] = " ".join(words[:at] + [p] + words[at:])
    return sorted(int(d) for d in docs)


def _best(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _agreement(index, bench, series, planted, flagged, flagged_base) -> None:
    """Both implementations must flag the planted docs; explain any doc only one flags."""
    assert set(planted) <= flagged, "a planted doc was missed"
    extra = sorted(flagged - flagged_base)
    if extra:
        hits = index.hits(series[extra]).join(
            bench.with_row_index("bench_row").select(pl.col("bench_row").cast(pl.Int64), "text"),
            on="bench_row",
        )
        short = [len(_baseline_words(t)) for t in hits["text"]]
        print(
            f"only ours: {len(extra)} docs, matched benchmark items of {short} words "
            f"(< {N}: caught by short-item containment, which the baseline lacks)"
        )
    print(
        f"\nflagged docs: ours {len(flagged)}, baseline {len(flagged_base)}, "
        f"planted {len(planted)} (all caught by ours: yes); "
        f"same set as baseline: {flagged == flagged_base}"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--docs", type=int, default=20_000)
    p.add_argument("--words", type=int, default=300)
    args = p.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for every contender
    numba.set_num_threads(1)

    corpus = make_corpus(args.docs, args.words)
    bench = Registry.load().items()
    # plain-prose benchmark items (no LaTeX/figures) so the baseline's simpler normalizer sees
    # the same words as ours: the comparison is then about speed, not about normalization
    plain = bench.filter(~pl.col("text").str.contains(r"[\\$\[]"))["text"].to_list()
    planted = _plant(corpus.texts, plain)
    texts = corpus.texts
    n_words = sum(len(_baseline_words(t)) for t in texts)
    print(
        f"corpus: {len(texts)} docs, {n_words / 1e6:.2f}M words, {len(planted)} with a pasted "
        f"benchmark problem; reference: {bench.height} benchmark items; {N}-grams; "
        f"load avg {os.getloadavg()[0]:.1f}"
    )

    BenchmarkIndex(bench.head(5), DecontamConfig())  # JIT warm-up
    t_bidx, bset = _best(lambda: _baseline_index(bench["text"].to_list()), repeat=1)
    t_base, flagged_base = _best(lambda: _baseline(texts, bset), repeat=2)

    config = DecontamConfig(minhash=False)
    t_idx, index = _best(lambda: BenchmarkIndex(bench, config), repeat=1)
    series = pl.Series(texts)
    index.hits(series.head(10))  # JIT warm-up (cached on disk after the first run)

    def ours() -> set[int]:
        hits = index.hits(series)
        return set(hits["row"].to_list())

    t_ours, flagged = _best(ours, repeat=3)
    t_mh_idx, mh_index = _best(lambda: BenchmarkIndex(bench, DecontamConfig()), repeat=1)
    t_both, both = _best(lambda: mh_index.hits(series), repeat=2)

    _agreement(index, bench, series, planted, flagged, flagged_base)
    rate_base, rate_ours = n_words / t_base, n_words / t_ours
    print("\n13-gram decontamination, words/s end to end from raw text, single thread")
    print(f"  baseline Python (set of hashed 13-gram tuples per doc)  {rate_base / 1e6:8.2f}M")
    print(
        f"  ours (numba tokenize + rolling hash + bitmap probe)     {rate_ours / 1e6:8.2f}M"
        f"   {rate_ours / rate_base:.1f}x baseline"
    )
    print(
        f"  ours with MinHash LSH as well (3-word shingles)         {n_words / t_both / 1e6:8.2f}M"
        f"   ({both.filter(method='minhash').height} MinHash hits)"
    )
    print(f"  index build: baseline {t_bidx:.2f}s, ours {t_idx:.2f}s, ours+MinHash {t_mh_idx:.2f}s")

    words = TOKENS_8B * WORDS_PER_TOKEN
    for name, secs in (("13-gram only", t_ours), ("13-gram + MinHash", t_both)):
        core_s = words * secs / n_words
        print(
            f"projection, 8.3B tokens (~{words / 1e9:.1f}B words), {name}: "
            f"{core_s / 3600:.2f} core-hours -> {core_s / 16 / 60:.1f} min on 16 cores "
            f"(baseline: {words / rate_base / 16 / 60:.0f} min)"
        )


if __name__ == "__main__":
    main()
