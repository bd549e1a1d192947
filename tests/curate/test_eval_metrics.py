"""The eval figures against hand-computed values: pass@k (unbiased), majority@k with ties,
avg@N with its spread across runs, the average per-item spread, and the paired comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curate.evaluation.metrics import (
    avg_sample_std,
    majority_at_k,
    paired_difference,
    pass_at_k,
    pass_at_k_per_item,
    report_ks,
    run_stats,
    summarize,
)


@pytest.mark.parametrize(
    ("correct", "k", "expected"),
    [
        (2, 1, 2 / 5),
        (2, 2, 1 - math.comb(3, 2) / math.comb(5, 2)),  # 0.7
        (2, 3, 1 - math.comb(3, 3) / math.comb(5, 3)),  # 0.9
        (2, 4, 1.0),  # fewer than k wrong samples: some draw of 4 holds a right one
        (2, 5, 1.0),  # k = N: any right sample at all
        (0, 5, 0.0),
        (5, 1, 1.0),
        (1, 5, 1.0),
        (4, 2, 1.0),
    ],
)
def test_pass_at_k_matches_the_combinatorial_formula(correct: int, k: int, expected: float):
    assert pass_at_k_per_item(np.array([correct]), 5, k)[0] == pytest.approx(expected)


def test_pass_at_k_averages_items_and_equals_accuracy_at_k1():
    correct = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
    assert pass_at_k(correct, 1) == pytest.approx(correct.mean())
    per_item = [1 - math.comb(3, 2) / math.comb(4, 2), 1 - math.comb(2, 2) / math.comb(4, 2), 0]
    assert pass_at_k(correct, 2) == pytest.approx(np.mean(per_item))
    assert pass_at_k(correct, 4) == pytest.approx(2 / 3)  # k = N: items with any right sample
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(correct, 5)


def test_report_ks():
    assert report_ks(1) == [1]
    assert report_ks(4) == [1, 2, 4]
    assert report_ks(6) == [1, 2, 4, 6]
    assert report_ks(64) == [1, 2, 4, 8, 16, 32, 64]


# classes: equal id = equivalent answers, -1 = no answer; correct marks the reference's class
MAJORITY_CASES = [
    # (classes, correct, majority@N)
    ([0, 0, 1], [1, 1, 0], 1.0),  # right answer wins 2-1
    ([0, 1, 1], [1, 0, 0], 0.0),  # a wrong answer wins 2-1
    ([0, 0, 1, 1], [1, 1, 0, 0], 0.5),  # tie between right and wrong: half
    ([0, 1, 2, -1], [0, 1, 0, 0], 1 / 3),  # three-way tie, one right
    ([0, 1, -1, -1], [0, 0, 0, 0], 0.0),  # tie between two wrong answers
    ([-1, -1, -1, 5], [0, 0, 0, 1], 1.0),  # one answer among blanks wins
    ([-1, -1, -1, -1], [0, 0, 0, 0], 0.0),  # no answer at all
]


@pytest.mark.parametrize(("classes", "correct", "expected"), MAJORITY_CASES)
def test_majority_with_ties_and_blanks(classes: list[int], correct: list[int], expected: float):
    got = majority_at_k(np.array([classes]), np.array([correct], dtype=bool))
    assert got == pytest.approx(expected)


def test_majority_over_items_and_first_k_samples():
    classes = np.array([c for c, _, _ in MAJORITY_CASES if len(c) == 4])
    correct = np.array([r for c, r, _ in MAJORITY_CASES if len(c) == 4], dtype=bool)
    expected = np.mean([e for c, _, e in MAJORITY_CASES if len(c) == 4])
    assert majority_at_k(classes, correct) == pytest.approx(expected)  # k = N
    # k = 1: the first sample alone, i.e. its correctness
    assert majority_at_k(classes, correct, 1) == pytest.approx(correct[:, 0].mean())
    # k = 2 on [0, 0, 1, 1] (right, right, ...) is a clear win; on [0, 1, ...] a tie
    assert majority_at_k(np.array([[0, 0, 1, 1]]), np.array([[1, 1, 0, 0]], bool), 2) == 1.0
    assert majority_at_k(np.array([[0, 1, 1, 1]]), np.array([[1, 0, 0, 0]], bool), 2) == 0.5
    with pytest.raises(ValueError, match="differ in shape"):
        majority_at_k(classes[:, :2], correct)


def test_avg_at_n_with_spread_across_runs():
    # runs (columns) have accuracies 3/4, 1/2, 1/2, 1/4
    correct = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=bool)
    stats = run_stats(correct)
    runs = np.array([0.75, 0.5, 0.5, 0.25])
    sd = float(np.sqrt(((runs - runs.mean()) ** 2).sum() / 3))
    assert stats.avg == pytest.approx(0.5)
    assert stats.std_dev == pytest.approx(sd)
    assert stats.std_err == pytest.approx(sd / 2)
    t975_3dof = 3.182446305284263
    assert stats.ci_low == pytest.approx(0.5 - t975_3dof * sd / 2)
    assert stats.ci_high == pytest.approx(0.5 + t975_3dof * sd / 2)
    one_run = run_stats(correct[:, :1])
    assert one_run.avg == 0.75 and one_run.std_dev is None and one_run.ci_low is None


def test_avg_sample_std_and_summary():
    correct = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool)
    item0 = np.std([1, 1, 0, 0], ddof=1)  # sqrt(1/3)
    assert avg_sample_std(correct) == pytest.approx(item0 / 2)
    assert avg_sample_std(correct[:, :1]) is None
    classes = np.where(correct, 0, 1)
    summary = summarize(correct, classes)
    assert summary["samples"] == 4 and summary["items"] == 2
    assert summary["avg"] == pytest.approx(0.75)
    assert summary["majority"] == pytest.approx((0.5 + 1) / 2)
    assert summary["pass_at_k"] == {
        "pass@1": pytest.approx(0.75),
        "pass@2": pytest.approx((1 - 1 / 6 + 1) / 2),
        "pass@4": pytest.approx(1.0),
    }
    with pytest.raises(ValueError, match="items x samples"):
        summarize(np.zeros((0, 4), bool), np.zeros((0, 4), int))


def test_paired_difference():
    same = paired_difference(np.array([1.0, 0.5, 0.0]), np.array([1.0, 0.5, 0.0]), 0.01, 0.01)
    assert (same.diff, same.ci_low, same.ci_high, same.ties) == (0.0, 0.0, 0.0, 3)
    assert same.beyond_run_spread is False and not same.ci_excludes_zero
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 0.5, 200)
    better = paired_difference(b + 0.3, b, 0.02, 0.02)
    assert better.diff == pytest.approx(0.3)
    assert better.ci_low == pytest.approx(0.3) and better.ci_high == pytest.approx(0.3)
    assert better.wins == 200 and better.beyond_run_spread is True
    noisy = paired_difference(rng.uniform(0, 1, 30), rng.uniform(0, 1, 30), 0.2, 0.2)
    assert noisy.ci_low < noisy.diff < noisy.ci_high
    assert noisy.run_spread == pytest.approx(1.959964 * math.sqrt(0.08), rel=1e-5)
    assert paired_difference(np.ones(3), np.zeros(3)).beyond_run_spread is None  # N = 1
    with pytest.raises(ValueError, match="equal non-empty"):
        paired_difference(np.ones(3), np.ones(2))
