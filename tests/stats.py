"""Tolerances for statistical assertions, each with its false-failure probability.

Every test that compares random outcomes uses a fixed seed, so it is deterministic; the
probabilities below are what a run with a fresh seed would risk, and bound how likely it is
that a correct implementation fails (the "passes or fails by luck" budget).
"""

from __future__ import annotations

import math

import numpy as np

#: |z| bound for one two-sided normal test: P(|Z| > 4.5) = 6.8e-6.
Z = 4.5
Z_FALSE_FAILURE = math.erfc(Z / math.sqrt(2.0))


def z_one_sample(sample: np.ndarray, expected: float) -> float:
    """z statistic of the sample mean against a known expectation (sample sd)."""
    n = sample.size
    sd = float(np.std(sample, ddof=1))
    if sd == 0.0:
        return 0.0 if float(sample.mean()) == expected else math.inf
    return (float(sample.mean()) - expected) / (sd / math.sqrt(n))


def z_two_sample(a: np.ndarray, b: np.ndarray) -> float:
    """Welch z statistic of the difference of two independent sample means."""
    se = math.sqrt(np.var(a, ddof=1) / a.size + np.var(b, ddof=1) / b.size)
    diff = float(a.mean() - b.mean())
    if se == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / se


def ks_two_sample(a: np.ndarray, b: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between two empirical distributions."""
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.abs(fa - fb).max())


def ks_bound(n: int, m: int, alpha: float = 1e-5) -> float:
    """Critical KS distance at false-failure probability ``alpha`` (asymptotic; conservative
    for discrete distributions)."""
    return math.sqrt(-math.log(alpha / 2.0) / 2.0) * math.sqrt((n + m) / (n * m))


def dkw_bound(n: int, alpha: float = 1e-5) -> float:
    """DKW bound: P(sup |F_n - F| > eps) <= alpha for the returned eps."""
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))
