"""Sequential band decision: stop sampling a seed once its fixed-K band is statistically decided.

The band of a seed is defined by its pass rate over K samples (`band_of`). After n < K samples
with s correct, the remaining K - n samples' successes follow a beta-binomial under a Beta(a, b)
prior on the seed's pass rate, so the probability of each final band is exact
(`final_band_probs`). Sampling stops once one band has probability >= `confidence` (stochastic
curtailment); with confidence 1.0 it stops only when no outcome of the remaining samples could
change the band. Agreement with fixed-K bands is then >= `confidence` in expectation, which is
what the difficulty stage promises.

Why an empirical-Bayes prior: with a flat Beta(1, 1) prior, 0 of 2 still leaves a ~40% chance of
a success in the next 6, so no clear-cut seed would ever stop early. Pass rates of one weak model
across a seed set are far from flat (most GSM8K seeds are 0 for a 135M model), and
`fit_prior` estimates that population from all seeds' samples so far by beta-binomial maximum
likelihood (the stopping rule depends only on observed data, so the likelihood stays valid).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TOO_EASY, TEACHABLE, TOO_HARD = "too_easy", "teachable", "too_hard"
_BAND_INDEX = {TOO_EASY: 0, TEACHABLE: 1, TOO_HARD: 2}
_BAND_NAMES = np.array([TOO_EASY, TEACHABLE, TOO_HARD])
# Prior grid: mean on a log-odds grid (reaches 0.001 for all-zero seed sets), concentration
# capped at 50 so a small seed set cannot make the prior overconfident.
_MEANS = 1.0 / (1.0 + np.exp(-np.linspace(-7.0, 7.0, 57)))
_CONCENTRATIONS = np.geomspace(0.2, 50.0, 13)


@dataclass(frozen=True)
class Bounds:
    """Pass rate below `teachable_min` is too hard, above `teachable_max` too easy."""

    teachable_min: float
    teachable_max: float

    def band(self, pass_rate: np.ndarray) -> np.ndarray:
        return np.where(
            pass_rate < self.teachable_min,
            TOO_HARD,
            np.where(pass_rate > self.teachable_max, TOO_EASY, TEACHABLE),
        )


def band_of(correct: np.ndarray, samples: np.ndarray, bounds: Bounds) -> np.ndarray:
    rate = np.divide(correct, samples, out=np.zeros(len(correct)), where=samples > 0)
    return bounds.band(rate)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _log_marginal(n: int, s: int, a: float, b: float) -> float:
    """log P(s of n | a, b) without the binomial coefficient (constant in a, b)."""
    return _log_beta(a + s, b + n - s) - _log_beta(a, b)


def fit_prior(samples: np.ndarray, correct: np.ndarray) -> tuple[float, float]:
    """Beta(a, b) maximizing the beta-binomial likelihood of all seeds' (samples, correct)."""
    pairs = Counter(zip(samples.tolist(), correct.tolist(), strict=True))
    pairs.pop((0, 0), None)
    if not pairs:
        return 1.0, 1.0
    best, best_ll = (1.0, 1.0), -math.inf
    for mean in _MEANS:
        for kappa in _CONCENTRATIONS:
            a, b = float(mean * kappa), float((1 - mean) * kappa)
            ll = sum(w * _log_marginal(n, s, a, b) for (n, s), w in pairs.items())
            if ll > best_ll:
                best, best_ll = (a, b), ll
    return best


@lru_cache(maxsize=4096)
def final_band_probs(
    n: int, s: int, k: int, a: float, b: float, bounds: Bounds
) -> tuple[float, float, float]:
    """P(band after all k samples = too_easy, teachable, too_hard | s of n correct so far)."""
    m = k - n
    xs = np.arange(m + 1)
    alpha, beta = a + s, b + n - s
    log_pmf = np.array(
        [
            math.lgamma(m + 1)
            - math.lgamma(x + 1)
            - math.lgamma(m - x + 1)
            + _log_beta(x + alpha, m - x + beta)
            - _log_beta(alpha, beta)
            for x in range(m + 1)
        ]
    )
    pmf = np.exp(log_pmf - log_pmf.max())
    pmf /= pmf.sum()
    bands = bounds.band((s + xs) / k)
    return tuple(float(pmf[bands == name].sum()) for name in _BAND_NAMES)  # type: ignore[return-value]


@dataclass
class Decision:
    done: np.ndarray  # bool per seed: no more samples needed
    band: np.ndarray  # most probable final band
    confidence: np.ndarray  # its probability


def decide(
    samples: np.ndarray,
    correct: np.ndarray,
    k: int,
    bounds: Bounds,
    confidence: float,
    min_samples: int,
    prior: tuple[float, float],
) -> Decision:
    """Per seed: is its fixed-K band decided at `confidence`, and which band."""
    a, b = prior
    probs = np.array(
        [
            final_band_probs(int(n), int(s), k, a, b, bounds)
            for n, s in zip(samples.tolist(), correct.tolist(), strict=True)
        ]
    ).reshape(-1, 3)
    best = probs.argmax(axis=1)
    conf = probs[np.arange(len(best)), best]
    done = (samples >= k) | ((samples >= min_samples) & (conf >= confidence))
    return Decision(done=done, band=_BAND_NAMES[best], confidence=conf)


def schedule(k: int, min_samples: int, step: int) -> list[int]:
    """Sample counts after each round: min_samples, +step, ... up to k."""
    counts = [min(k, max(1, min_samples))]
    while counts[-1] < k:
        counts.append(min(k, counts[-1] + max(1, step)))
    return counts
