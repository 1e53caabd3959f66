"""The counter-based streams and samplers: uniformity, independence of keys, exact Poisson.

Tolerances: chi-square statistics against a bound with false-failure probability <= 1e-6
(Wilson-Hilferty), DKW bounds at 1e-5; all seeds fixed.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from kernels.rng import derive, uniform
from kernels.samplers import binomial, loglogistic, poisson
from tests.stats import dkw_bound


@numba.njit(cache=False)  # calls kernels: a cache here could go stale
def _uniforms(key: np.uint64, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(key, i)
    return out


@numba.njit(cache=False)  # calls kernels: a cache here could go stale
def _poissons(key: np.uint64, lam: float, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = poisson(derive(key, i), lam)
    return out


def chi2_bound(df: int, z: float = 4.75) -> float:
    """Upper chi-square quantile at P = 1e-6 by Wilson-Hilferty (z = 4.75)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def test_uniform_is_open_interval_and_uniform() -> None:
    u = _uniforms(np.uint64(123), 1_000_000)
    assert u.min() > 0.0 and u.max() < 1.0
    counts = np.bincount((u * 1000).astype(int), minlength=1000)
    chi2 = ((counts - 1000) ** 2 / 1000).sum()
    assert chi2 < chi2_bound(999)


def test_neighbouring_keys_are_uncorrelated() -> None:
    a = _uniforms(np.uint64(derive(np.uint64(1), 0)), 200_000)
    b = _uniforms(np.uint64(derive(np.uint64(1), 1)), 200_000)
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 4.5 / math.sqrt(a.size)
    lag = np.corrcoef(a[:-1], a[1:])[0, 1]
    assert abs(lag) < 4.5 / math.sqrt(a.size)


@pytest.mark.parametrize("lam", [0.3, 4.0, 9.99, 10.0, 37.5, 1234.5, 2.5e6])
def test_poisson_sampler_matches_pmf(lam: float) -> None:
    n = 200_000
    x = _poissons(np.uint64(99), lam, n)
    assert x.min() >= 0
    assert abs(x.mean() - lam) < 4.5 * math.sqrt(lam / n)
    # chi-square goodness of fit on the central support, tails pooled
    lo = max(0, int(lam - 5 * math.sqrt(lam)) - 1)
    hi = int(lam + 5 * math.sqrt(lam)) + 2
    ks = np.arange(lo, hi + 1)
    logpmf = -lam + ks * math.log(lam) - np.array([math.lgamma(k + 1.0) for k in ks])
    pmf = np.exp(logpmf)
    expected = n * pmf
    keep = expected >= 20
    obs = np.array([(x == k).sum() for k in ks])[keep]
    exp_ = expected[keep]
    rest_obs = n - obs.sum()
    rest_exp = n - exp_.sum()
    chi2 = ((obs - exp_) ** 2 / exp_).sum() + (rest_obs - rest_exp) ** 2 / max(rest_exp, 1e-9)
    assert chi2 < chi2_bound(int(keep.sum()))


def test_loglogistic_quantile_matches_cdf() -> None:
    u = _uniforms(np.uint64(5), 100_000)
    scale, shape = 2.0, 2.5
    d = np.array([loglogistic(x, scale, 1 / shape) for x in u[:20_000]])
    grid = np.quantile(d, np.linspace(0.01, 0.99, 99))
    cdf = 1 / (1 + (grid / scale) ** -shape)
    emp = np.searchsorted(np.sort(d), grid, side="right") / d.size
    assert np.abs(emp - cdf).max() < dkw_bound(d.size)


@numba.njit(cache=False)  # calls kernels: a cache here could go stale
def _binomials(key: np.uint64, n: int, p: float, size: int) -> np.ndarray:
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        out[i] = binomial(derive(key, i), n, p)
    return out


def _binom_logpmf(ks: np.ndarray, n: int, p: float) -> np.ndarray:
    lg = np.array([math.lgamma(k + 1.0) + math.lgamma(n - k + 1.0) for k in ks])
    return math.lgamma(n + 1.0) - lg + ks * math.log(p) + (n - ks) * math.log1p(-p)


@pytest.mark.parametrize(
    ("n", "p"),
    [
        (5, 0.3),  # inversion
        (200, 0.03),  # inversion, n p = 6
        (1_000, 0.02),  # BTRS, n p = 20
        (60, 0.9),  # reflected: BTRS on p = 0.1 ... n p = 6: inversion, reflected
        (400, 0.75),  # reflected BTRS
        (10_000_000, 5e-7),  # huge n, tiny p: inversion without underflow
        (2_000_000_000, 0.3),  # counts far past 2**31 stay exact in int64
    ],
)
def test_binomial_sampler_matches_pmf(n: int, p: float) -> None:
    size = 200_000
    x = _binomials(np.uint64(77), n, p, size)
    assert x.min() >= 0 and x.max() <= n
    mean, var = n * p, n * p * (1 - p)
    assert abs(x.mean() - mean) < 4.5 * math.sqrt(var / size)
    sd = math.sqrt(var)
    ks = np.arange(max(0, int(mean - 6 * sd) - 1), min(n, int(mean + 6 * sd) + 2) + 1)
    expected = size * np.exp(_binom_logpmf(ks, n, p))
    values, counts = np.unique(x, return_counts=True)
    observed = np.zeros(ks.size)
    inside = (values >= ks[0]) & (values <= ks[-1])
    observed[values[inside] - ks[0]] = counts[inside]
    # pool consecutive values into bins of >= 50 expected draws; the rest is one tail bin
    obs_bins, exp_bins, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected, strict=True):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= 50:
            obs_bins.append(acc_o)
            exp_bins.append(acc_e)
            acc_o = acc_e = 0.0
    obs, exp_ = np.array(obs_bins), np.array(exp_bins)
    rest_obs, rest_exp = size - obs.sum(), size - exp_.sum()
    chi2 = ((obs - exp_) ** 2 / exp_).sum() + (rest_obs - rest_exp) ** 2 / max(rest_exp, 1.0)
    assert len(obs_bins) >= 5
    assert chi2 < chi2_bound(len(obs_bins))


def test_binomial_edge_cases() -> None:
    key = np.uint64(3)
    assert _binomials(key, 0, 0.5, 10).tolist() == [0] * 10
    assert _binomials(key, 50, 0.0, 10).tolist() == [0] * 10
    assert _binomials(key, 50, 1.0, 10).tolist() == [50] * 10
