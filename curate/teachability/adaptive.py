"""Sequential band decision: stop sampling a seed once its fixed-K band is statistically decided.

The band of a seed is defined by its pass rate over K samples (`band_of`). After n < K samples
with s correct, the remaining K - n samples' successes follow a mixture of binomials under the
posterior of the seed's pass rate (a prior on a grid of pass rates, updated by its n samples),
so the probability of each final band is exact given the prior (`final_band_probs`). Sampling
stops once one band has probability >= `confidence` (stochastic curtailment); with confidence
1.0 it stops only when no outcome of the remaining samples could change the band. Agreement
with fixed-K bands is then >= `confidence` in expectation, which is what the difficulty stage
promises.

Why an empirical-Bayes prior: with a flat prior, 0 of 2 still leaves a ~40% chance of a success
in the next 6, so no clear-cut seed would ever stop early. Pass rates of one weak model across a
seed set are far from flat (most GSM8K seeds are exactly 0 for a 135M model, synthetic levels
pile up at 0 and 1), and a single Beta cannot hold point masses at both ends. `fit_prior` is
the nonparametric maximum-likelihood estimate of that distribution on a grid of pass rates
(Kiefer-Wolfowitz, by EM) from all seeds' samples so far, with PSEUDO_SEEDS uniform pseudo-seeds
(a Dirichlet prior on the weights) so that a small seed set stays cautious and no pass rate is
ruled out: on 500 mostly-zero seeds it stops at 2 of 8, on 25 it rarely stops on the prior
alone. The stopping rule depends only on observed data, so the
likelihood the prior is fitted from stays valid.

Chance (quality.answers.chance_rate): a seed whose answer can be guessed with probability c
passes with p = c + (1 - c) q, where q, the chance-corrected pass rate ("skill"), is what the
bands are about. The prior lives on q (the same thing as p when c = 0) and each seed's
likelihood uses its own c. K samples cannot tell a guess from skill (a coin-flipper gets 3 of 4
five times in sixteen), so a guessable seed's band is not the band of its observed rate but
the band its skill lies in by the posterior: it leaves too_hard only once skill >=
teachable_min has probability >= `confidence`, and is then teachable or too_easy, whichever is
more probable. Pooling is what makes this work: when a model guesses on every seed, the fitted
prior sits at q = 0 and no run of lucky samples is enough; when it has skill, the prior moves.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TOO_EASY, TEACHABLE, TOO_HARD = "too_easy", "teachable", "too_hard"
_BAND_NAMES = np.array([TOO_EASY, TEACHABLE, TOO_HARD])
GRID = np.linspace(0.0, 1.0, 41)  # pass rates the prior puts mass on
PSEUDO_SEEDS = 20.0  # uniform pseudo-seeds: a small seed set cannot make the prior overconfident
_EM_STEPS = 300
Prior = tuple[float, ...]  # weights over GRID (a tuple, so decisions can be cached)


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


def skill_of(rate: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """Chance-corrected pass rate (rate - c) / (1 - c), 0 at or below chance."""
    return np.clip((rate - chance) / np.maximum(1.0 - chance, 1e-12), 0.0, 1.0)


def _likelihood(n: np.ndarray, s: np.ndarray, chance: np.ndarray | None = None) -> np.ndarray:
    """(pairs, grid) binomial likelihood of skill GRID without the coefficient (constant in the
    grid); a success has probability c + (1 - c) q."""
    c = np.zeros(len(n)) if chance is None else chance
    p = c[:, None] + (1.0 - c[:, None]) * GRID[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        log = s[:, None] * np.log(p) + (n - s)[:, None] * np.log1p(-p)
    return np.exp(np.nan_to_num(log, nan=0.0, neginf=-np.inf))


def fit_prior(
    samples: np.ndarray,
    correct: np.ndarray,
    pseudo_seeds: float = PSEUDO_SEEDS,
    chance: np.ndarray | None = None,
) -> Prior:
    """Weights over GRID (skill) maximizing the likelihood of all seeds' (samples, correct) at
    their chance rates, with `pseudo_seeds` uniform pseudo-seeds."""
    rates = np.zeros(len(samples)) if chance is None else np.round(chance, 6)
    keys = zip(samples.tolist(), correct.tolist(), rates.tolist(), strict=True)
    pairs = Counter(key for key in keys if key[0] > 0)
    uniform = np.full(len(GRID), 1.0 / len(GRID))
    if not pairs:
        return tuple(uniform.tolist())
    n, s, c = (np.array([k[i] for k in pairs], dtype=float) for i in range(3))
    count = np.array(list(pairs.values()), dtype=float)
    like = _likelihood(n, s, c)
    weights = uniform.copy()
    for _ in range(_EM_STEPS):
        post = like * weights
        post /= post.sum(axis=1, keepdims=True)
        # MAP step under a Dirichlet prior worth PSEUDO_SEEDS seeds spread over the grid
        weights = ((count[:, None] * post).sum(axis=0) + pseudo_seeds * uniform) / (
            count.sum() + pseudo_seeds
        )
    return tuple(weights.tolist())


def _posterior(n: int, s: int, prior: Prior, chance: float) -> np.ndarray:
    like = _likelihood(np.array([float(n)]), np.array([float(s)]), np.array([chance]))[0]
    post = np.asarray(prior) * like
    return post / post.sum()


@lru_cache(maxsize=8192)
def final_band_probs(
    n: int, s: int, k: int, prior: Prior, bounds: Bounds, chance: float = 0.0
) -> tuple[float, float, float]:
    """P(band = too_easy, teachable, too_hard | s of n correct so far): the band of the pass
    rate after all k samples, or, for a guessable seed (chance > 0), the band of its skill."""
    post = _posterior(n, s, prior, chance)
    if chance > 0:
        bands = bounds.band(GRID)
        return _masses(post, bands)
    m = k - n
    xs = np.arange(m + 1)
    coef = np.array([math.comb(m, int(x)) for x in xs], dtype=float)
    p = GRID[:, None]
    pmf = (post[:, None] * coef[None, :] * p ** xs[None, :] * (1 - p) ** (m - xs)[None, :]).sum(0)
    bands = bounds.band((s + xs) / k)
    return _masses(pmf, bands)


def _masses(weights: np.ndarray, bands: np.ndarray) -> tuple[float, float, float]:
    """The weight on each band (too_easy, teachable, too_hard)."""
    easy, teachable, hard = (float(weights[bands == name].sum()) for name in _BAND_NAMES)
    return easy, teachable, hard


@dataclass
class Decision:
    done: np.ndarray  # bool per seed: no more samples needed
    band: np.ndarray  # most probable final band
    confidence: np.ndarray  # its probability


def _settled(probs: np.ndarray, confidence: float) -> np.ndarray:
    """Band index of seeds that must be decided now on what they have (guessable seeds at K):
    too_hard unless skill >= teachable_min has probability >= confidence, then the more probable
    of teachable and too_easy."""
    above = probs[:, 0] + probs[:, 1] >= confidence
    return np.where(above, np.where(probs[:, 0] > probs[:, 1], 0, 1), 2)


def decide(
    samples: np.ndarray,
    correct: np.ndarray,
    k: int,
    bounds: Bounds,
    confidence: float,
    min_samples: int,
    prior: Prior,
    chance: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> Decision:
    """Per seed: is its band decided at `confidence`, and which band. `final` marks seeds that
    get no more samples (at K, or whose samples failed for good): they are decided anyway."""
    rates = np.zeros(len(samples)) if chance is None else chance
    probs = np.array(
        [
            final_band_probs(int(n), int(s), k, prior, bounds, float(c))
            for n, s, c in zip(samples.tolist(), correct.tolist(), rates.tolist(), strict=True)
        ]
    ).reshape(-1, 3)
    best = probs.argmax(axis=1)
    end = samples >= k if final is None else final | (samples >= k)
    forced = end & (rates > 0) & (probs.max(axis=1) < confidence)
    best = np.where(forced, _settled(probs, confidence), best)
    conf = probs[np.arange(len(best)), best]
    done = end | ((samples >= min_samples) & (conf >= confidence))
    return Decision(done=done, band=_BAND_NAMES[best], confidence=conf)


def schedule(k: int, min_samples: int, step: int) -> list[int]:
    """Sample counts after each round: min_samples, +step, ... up to k."""
    counts = [min(k, max(1, min_samples))]
    while counts[-1] < k:
        counts.append(min(k, counts[-1] + max(1, step)))
    return counts


class Sequential:
    """Round-by-round state of adaptive sampling over a seed set. A seed's band is frozen when
    it is decided (a later prior refit never reopens it); fixed mode decides only at K."""

    def __init__(
        self,
        n_items: int,
        k: int,
        bounds: Bounds,
        confidence: float,
        min_samples: int,
        adaptive: bool = True,
        pseudo_seeds: float = PSEUDO_SEEDS,
        chance: np.ndarray | None = None,
    ) -> None:
        self.k, self.bounds, self.adaptive = k, bounds, adaptive
        self.pseudo_seeds = pseudo_seeds
        self.confidence, self.min_samples = confidence, min_samples
        self.chance = np.zeros(n_items) if chance is None else np.asarray(chance, dtype=float)
        self.samples = np.zeros(n_items, dtype=np.int64)
        self.correct = np.zeros(n_items, dtype=np.int64)
        self.done = np.zeros(n_items, dtype=bool)
        self.band = np.full(n_items, TOO_HARD, dtype=object)
        self.band_confidence = np.zeros(n_items)

    def add(self, items: np.ndarray, correct: np.ndarray) -> None:
        """Record finished samples (item index, correct) and decide what can be decided."""
        n = len(self.samples)
        self.samples += np.bincount(items, minlength=n)
        self.correct += np.bincount(items, weights=correct.astype(float), minlength=n).astype(
            np.int64
        )
        if not self.adaptive:
            self._conclude(~self.done & (self.samples >= self.k))
            return
        decision = self._decision(None)
        new = decision.done & ~self.done
        self.band[new], self.band_confidence[new] = decision.band[new], decision.confidence[new]
        self.done |= new

    def finish(self) -> None:
        """Decide every seed still open that has samples (its other samples failed for good)."""
        self._conclude(~self.done & (self.samples > 0))

    def _conclude(self, seeds: np.ndarray) -> None:
        """Decide `seeds` on the samples they have: the band of the observed pass rate, or for a
        guessable seed the posterior rule (module docstring)."""
        plain = seeds & (self.chance <= 0)
        self.band[plain] = band_of(self.correct[plain], self.samples[plain], self.bounds)
        self.band_confidence[plain] = 1.0
        guessable = seeds & (self.chance > 0)
        if guessable.any():
            decision = self._decision(guessable)
            self.band[guessable] = decision.band[guessable]
            self.band_confidence[guessable] = decision.confidence[guessable]
        self.done |= seeds

    def _decision(self, final: np.ndarray | None) -> Decision:
        prior = fit_prior(self.samples, self.correct, self.pseudo_seeds, self.chance)
        return decide(
            self.samples,
            self.correct,
            self.k,
            self.bounds,
            self.confidence,
            self.min_samples,
            prior,
            self.chance,
            final,
        )

    def rounds(self, min_samples: int, step: int) -> list[int]:
        return schedule(self.k, min_samples, step) if self.adaptive else [self.k]
