"""Simulation-based calibration of the fit in time (`forecast.analysis.drift_fit.fit_time`).

Each replication draws the truth from the fit's prior: a drift sd d with log d ~ N(log d0,
`LOG_SD_DRIFT`^2) around the tier's default d0 (cycling through four tier-metric pairs, the
drift's correlation time and the market's sd theirs), a session sd around MODEL.md's, host
levels; then `HOSTS` hosts with 6-24 dated sessions each (gaps of 3 days on average, hosts in
staggered stretches of the calendar so that no week holds the five hosts the market's own fit
needs: the market's sd is the default, which is the truth here). The values are the model's:
level + d x (an Ornstein-Uhlenbeck path at the sessions' days) + market (a weekly AR(1)) +
session effect + count noise. Then the fit, and two probability integral transforms:

- of the true d under the grid posterior's marginal (each grid point's mass spread evenly over
  its cell in log d);
- of each host's true level at its last session (level + d x drift there) under the fit's
  Gaussian for it (mean ``centre + shift``, variance ``level_var``), the quantity a forecast
  carries forward.

If the fit is right both are uniform. The test: a chi-square of the transforms in `BINS` equal
bins against uniform, each at level `ALPHA_EACH`, so a correct fit fails one of the two with
probability at most 0.002 (the seed is fixed: the test is deterministic). Measured over 1,000
replications the chi-squares were 8.9 (d) and 5.2 (level) against a critical 27.9, and the
90 % intervals held 90.3 % of 6,000 host levels.

Power against a drift sd fitted 30 % too small (the posterior of log d shifted by log 0.7):
for a near-normal posterior of sd sigma_r the truth's transform becomes Phi(Z - log 0.7 /
sigma_r); the bin probabilities averaged over the replications' own posterior sds give the
chi-square a noncentrality, and with `REPLICATIONS` its power at the same level is asserted
above 0.999 (`test_power_against_a_drift_sd_30_percent_too_small`; the posterior sds have a
median near 0.30, against a shift of 0.36). The same replications with the shift are rejected
too (asserted).

The 90 % intervals of the levels at the last session hold 85-95 % of the truth: with
`REPLICATIONS` x `HOSTS` = 1,440 levels (sd of the share about 0.008 if independent), a right
fit leaves that band with probability below 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from forecast.analysis import drift_fit as dfit
from forecast.analysis import posterior as post
from forecast.model.presets import time_layer

REPLICATIONS = 240
HOSTS = 6
BINS = 10
ALPHA_EACH = 1e-3
CHI2_CRIT = float(stats.chi2.ppf(1 - ALPHA_EACH, BINS - 1))
CASES = (("mega", "traffic"), ("mid", "conversion"), ("mega", "engagement"), ("mid", "stay"))
#: Session sds of the truth (log units; MODEL.md's real sessions, about), drawn around these.
SESSION_SD = {"traffic": 0.45, "conversion": 0.5, "engagement": 0.5, "stay": 0.2}
MARKET_WEEKS = 4.0
TOO_SMALL = 0.7


def replicate(r: int) -> dict[str, np.ndarray]:
    """One replication: truth from the prior, dated values, the fit, its transforms."""
    rng = np.random.default_rng([25, r])
    tier, metric = CASES[r % len(CASES)]
    layer = time_layer(tier)
    d0, tau, m = layer[f"{metric}_drift_sd"], layer["drift_days"], layer[f"{metric}_market_sd"]
    phi = math.exp(-1.0 / MARKET_WEEKS)
    d = d0 * math.exp(dfit.LOG_SD_DRIFT * rng.normal())
    s = SESSION_SD[metric] * math.exp(0.3 * rng.normal())
    market = np.empty(600)  # weeks from the epoch, stationary AR(1) of sd 1
    market[0] = rng.normal()
    for w in range(1, market.size):
        market[w] = phi * market[w - 1] + math.sqrt(1 - phi * phi) * rng.normal()
    level = rng.normal(0.0, 0.5, HOSTS)
    truth_last = np.empty(HOSTS)
    host, y, var, days = [], [], [], []
    for j in range(HOSTS):
        n = int(rng.integers(6, 25))
        t = 700.0 + 80.0 * j + rng.uniform(0.0, 20.0) + np.cumsum(rng.exponential(3.0, n))
        x = np.empty(n)
        x[0] = rng.normal()
        for i in range(1, n):
            rho = math.exp(-(t[i] - t[i - 1]) / tau)
            x[i] = rho * x[i - 1] + math.sqrt(1 - rho * rho) * rng.normal()
        v = rng.choice([0.0, 1e-3, 0.02], n)  # count noise, known
        noise = s * rng.standard_normal(n) + np.sqrt(v) * rng.standard_normal(n)
        y.append(level[j] + d * x + m * market[(t // 7.0).astype(np.int64)] + noise)
        truth_last[j] = level[j] + d * x[-1]
        host.append(np.full(n, j))
        var.append(v)
        days.append(t)
    h, yy = np.concatenate(host), np.concatenate(y)
    data = post.Data(HOSTS, h, yy, np.zeros(h.size, dtype=bool), np.concatenate(var))
    centre = np.array([yy[h == j].mean() for j in range(HOSTS)])
    fit = dfit.fit_time(data, np.concatenate(days), centre, d0, tau, m, MARKET_WEEKS)
    assert not fit.market_fitted  # by design: the market's sd is the truth's
    mass = fit.weights.sum(axis=1)
    log_grid = np.log(fit.grid_d)
    lo, hi = post._cells(log_grid)

    def cdf(x: float) -> float:
        return float(np.sum(mass * np.clip((x - lo) / (hi - lo), 0.0, 1.0)))

    centre_d = float(np.sum(mass * log_grid))
    z = (truth_last - (centre + fit.shift)) / np.sqrt(fit.level_var)
    return {
        "d": np.array([cdf(math.log(d))]),
        "small": np.array([cdf(math.log(d) - math.log(TOO_SMALL))]),
        "post_sd": np.array([math.sqrt(float(np.sum(mass * (log_grid - centre_d) ** 2)))]),
        "level": stats.norm.cdf(z[:1]),
        "covered": np.abs(z) <= stats.norm.ppf(0.95),
    }


def chi2_uniform(u: np.ndarray) -> float:
    counts = np.histogram(u, bins=BINS, range=(0.0, 1.0))[0]
    expected = u.size / BINS
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.fixture(scope="module")
def sbc() -> dict[str, np.ndarray]:
    reps = [replicate(r) for r in range(REPLICATIONS)]
    return {k: np.concatenate([x[k] for x in reps]) for k in reps[0]}


@pytest.mark.slow
@pytest.mark.parametrize("quantity", ["d", "level"])
def test_sbc_transforms_uniform(sbc: dict[str, np.ndarray], quantity: str) -> None:
    assert chi2_uniform(sbc[quantity]) < CHI2_CRIT


@pytest.mark.slow
def test_sbc_rejects_a_drift_sd_30_percent_too_small(sbc: dict[str, np.ndarray]) -> None:
    assert chi2_uniform(sbc["small"]) > CHI2_CRIT


@pytest.mark.slow
def test_power_against_a_drift_sd_30_percent_too_small(sbc: dict[str, np.ndarray]) -> None:
    """Noncentrality R x sum (p - 1/B)^2 B with p the bin probabilities of
    Phi(Z - log 0.7 / sigma_r), averaged over the replications' posterior sds sigma_r."""
    z_edges = stats.norm.ppf(np.linspace(0.0, 1.0, BINS + 1))
    shift = -math.log(TOO_SMALL) / sbc["post_sd"]
    p = np.diff(stats.norm.cdf(z_edges[None, :] - shift[:, None]), axis=1).mean(axis=0)
    lam = REPLICATIONS * float(((p - 1 / BINS) ** 2 * BINS).sum())
    power = float(stats.ncx2.sf(CHI2_CRIT, BINS - 1, lam))
    assert power > 0.999, power


@pytest.mark.slow
def test_sbc_90_percent_intervals_of_the_last_level_hold_the_truth(
    sbc: dict[str, np.ndarray],
) -> None:
    share = float(sbc["covered"].mean())
    assert 0.85 <= share <= 0.95, share
