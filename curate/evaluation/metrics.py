"""Accuracy over N samples per item, as NeMo-Skills, lighteval and the Phi-4-reasoning report
print it. Pure functions over numpy arrays: `correct` is items x N booleans (sample j of every
item is "run j"), `classes` is items x N answer-class ids (equal id = equivalent answers, -1 =
no answer).

- pass@1[avg-of-N] (`avg`): mean accuracy, i.e. the mean of the N per-run accuracies;
  std_dev_across_runs (ddof 1) and std_err_across_runs = std_dev / sqrt(N) as NeMo-Skills
  computes them, and a 95% interval avg +- t(0.975, N-1) * std_err. The interval is over runs
  (sampling noise of the model), not over items (which benchmark was drawn).
- majority@k: the vote of the first k samples; a tie for first place counts as the share of the
  tied classes that are correct (the expected score of a uniform tie-break), no answer as wrong.
- pass@k: the unbiased estimator of Chen et al. 2021, 1 - C(N-c, k) / C(N, k) per item, in its
  numerically stable product form.
- avg_sample_std_dev: the mean over items of the std (ddof 1) of the item's N outcomes.

Usage:
    summary = summarize(correct, classes)          # dict of the figures above
    paired_difference(p_a, p_b, se_a, se_b)      # --compare: per-item differences, bootstrap
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
# column of eval_summaries -> the name evaluators print ({n}: the number of samples)
DISPLAY = {
    "avg": "pass@1[avg-of-{n}]",
    "majority": "majority@{n}",
    "std_dev_across_runs": "std_dev_across_runs",
    "std_err_across_runs": "std_err_across_runs",
    "avg_sample_std_dev": "avg_sample_std_dev",
}


@dataclass(frozen=True)
class RunStats:
    avg: float
    std_dev: float | None  # None when N = 1: one run has no spread
    std_err: float | None
    ci_low: float | None
    ci_high: float | None


def _matrix(correct: np.ndarray) -> np.ndarray:
    matrix = np.asarray(correct, dtype=bool)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"expected an items x samples matrix with both > 0, got {matrix.shape}")
    return matrix


def run_accuracies(correct: np.ndarray) -> np.ndarray:
    """Accuracy of each of the N runs (run j = sample j of every item)."""
    return _matrix(correct).mean(axis=0)


def run_stats(correct: np.ndarray) -> RunStats:
    """avg@N with its spread across the N runs."""
    runs = run_accuracies(correct)
    avg = float(runs.mean())
    if runs.size < 2:
        return RunStats(avg, None, None, None, None)
    from scipy.stats import t

    std_dev = float(runs.std(ddof=1))
    std_err = std_dev / math.sqrt(runs.size)
    half = float(t.ppf(0.5 + CONFIDENCE / 2, runs.size - 1)) * std_err
    return RunStats(avg, std_dev, std_err, max(0.0, avg - half), min(1.0, avg + half))


def pass_at_k_per_item(correct_counts: np.ndarray, n: int, k: int) -> np.ndarray:
    """Unbiased pass@k of each item with `correct_counts` correct among `n` samples."""
    if not 1 <= k <= n:
        raise ValueError(f"pass@k needs 1 <= k <= n, got k={k}, n={n}")
    counts = np.asarray(correct_counts, dtype=np.int64)
    if counts.size and (counts.min() < 0 or counts.max() > n):
        raise ValueError(f"correct counts must lie in [0, {n}]")
    # one value per possible count c: 1 - prod_{i=n-c+1..n} (1 - k/i), 1.0 once n - c < k
    table = np.ones(n + 1)
    for c in range(n + 1):
        if n - c >= k:
            table[c] = 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))
    return table[counts]


def pass_at_k(correct: np.ndarray, k: int) -> float:
    matrix = _matrix(correct)
    return float(pass_at_k_per_item(matrix.sum(axis=1), matrix.shape[1], k).mean())


def report_ks(n: int) -> list[int]:
    """The k's a summary reports: powers of two below N, and N itself."""
    ks = [1 << i for i in range(n.bit_length()) if (1 << i) < n]
    return [*ks, n]


def majority_at_k(classes: np.ndarray, correct: np.ndarray, k: int | None = None) -> float:
    """majority@k over the first k samples of every item (default all N)."""
    matrix = _matrix(correct)
    ids = np.asarray(classes, dtype=np.int64)
    if ids.shape != matrix.shape:
        raise ValueError(f"classes {ids.shape} and correct {matrix.shape} differ in shape")
    k = matrix.shape[1] if k is None else k
    if not 1 <= k <= matrix.shape[1]:
        raise ValueError(f"majority@k needs 1 <= k <= {matrix.shape[1]}, got {k}")
    ids, right = ids[:, :k], matrix[:, :k]
    rows = np.broadcast_to(np.arange(ids.shape[0])[:, None], ids.shape)
    voted = ids >= 0
    # one bucket per (item, class) among the answers given
    keys, bucket = np.unique(np.stack([rows[voted], ids[voted]]), axis=1, return_inverse=True)
    bucket = bucket.ravel()
    votes = np.bincount(bucket, minlength=keys.shape[1])
    bucket_right = np.bincount(bucket, weights=right[voted], minlength=keys.shape[1]) > 0
    item = keys[0]
    top = np.zeros(ids.shape[0], dtype=np.int64)
    np.maximum.at(top, item, votes)
    is_top = votes == top[item]
    tied = np.bincount(item, weights=is_top, minlength=ids.shape[0])
    won = np.bincount(item, weights=is_top & bucket_right, minlength=ids.shape[0])
    score = np.divide(won, tied, out=np.zeros(ids.shape[0]), where=tied > 0)
    return float(score.mean())


def avg_sample_std(correct: np.ndarray) -> float | None:
    """Mean over items of the std (ddof 1) of each item's N outcomes; None when N = 1."""
    matrix = _matrix(correct)
    if matrix.shape[1] < 2:
        return None
    return float(matrix.astype(float).std(axis=1, ddof=1).mean())


def summarize(correct: np.ndarray, classes: np.ndarray) -> dict[str, object]:
    """The summary figures of one (model, benchmark): see the module docstring."""
    matrix = _matrix(correct)
    stats = run_stats(matrix)
    n = matrix.shape[1]
    return {
        "samples": n,
        "items": matrix.shape[0],
        "avg": stats.avg,
        "std_dev_across_runs": stats.std_dev,
        "std_err_across_runs": stats.std_err,
        "ci_low": stats.ci_low,
        "ci_high": stats.ci_high,
        "majority": majority_at_k(classes, matrix),
        "pass_at_k": {f"pass@{k}": pass_at_k(matrix, k) for k in report_ks(n)},
        "avg_sample_std_dev": avg_sample_std(matrix),
    }


@dataclass(frozen=True)
class Paired:
    """A vs B on the same items: mean of the per-item accuracy differences (A - B)."""

    items: int
    diff: float
    ci_low: float  # percentile bootstrap over items, CONFIDENCE level
    ci_high: float
    wins: int  # items where A's accuracy is higher
    losses: int
    ties: int
    run_spread: float | None  # 1.96 x sqrt(se_A^2 + se_B^2): what run noise alone moves
    beyond_run_spread: bool | None  # |diff| > run_spread

    @property
    def ci_excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def paired_difference(
    acc_a: np.ndarray,
    acc_b: np.ndarray,
    se_a: float | None = None,
    se_b: float | None = None,
    *,
    resamples: int = 10_000,
    seed: int = 0,
) -> Paired:
    """Compare per-item accuracies (each item's mean over its samples) of two models.

    The bootstrap resamples items, so the interval says how much the difference depends on
    which items the benchmark happens to hold; `beyond_run_spread` says whether it is larger
    than the two models' run-to-run noise (their std_err_across_runs) would move it."""
    a, b = np.asarray(acc_a, dtype=float), np.asarray(acc_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two equal non-empty item accuracy vectors: {a.shape} {b.shape}")
    d = a - b
    # the seeded resample picks positions: sorted, the same pairs give the same interval
    # whatever order the caller's join left them in
    low, high = _bootstrap_mean(np.sort(d), resamples, seed)
    spread = None
    if se_a is not None and se_b is not None:
        spread = 1.959963984540054 * math.sqrt(se_a**2 + se_b**2)
    return Paired(
        items=int(d.size),
        diff=float(d.mean()),
        ci_low=low,
        ci_high=high,
        wins=int((d > 0).sum()),
        losses=int((d < 0).sum()),
        ties=int((d == 0).sum()),
        run_spread=spread,
        beyond_run_spread=None if spread is None else bool(abs(d.mean()) > spread),
    )


def _bootstrap_mean(d: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    if d.size < 2 or np.all(d == d[0]):  # no spread to resample: the interval is the point
        return float(d.mean()), float(d.mean())
    from scipy.stats import bootstrap

    result = bootstrap(
        (d,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)
