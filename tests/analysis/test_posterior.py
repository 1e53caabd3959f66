"""The hierarchy's posterior: its law's closed forms, and simulation-based calibration.

SBC (Talts et al. 2018): draw the truth (mu, tau, sigma, host levels) from the prior, data
from the model, fit, and take the rank of the truth among the posterior draws. If the
posterior is right, each rank is uniform on 0..D. The test: a chi-square of the ranks in
`BINS` equal bins against uniform, per quantity (a host's level, mu, tau, sigma), each at
level `ALPHA_EACH`, so a correct posterior fails one of the four with probability at most
4 x `ALPHA_EACH` = 0.004 over seeds (the seed is fixed, so the test is deterministic).

Power against a posterior 30 % too narrow (every draw pulled towards the posterior mean by
0.7): for a near-normal posterior the truth's rank is then Phi(Z / 0.7), whose bin
probabilities give the chi-square a noncentrality computed in `test_sbc_power`; with
`REPLICATIONS` ranks its power at the same level is 0.998 (`test_sbc_power`). The same
ranks narrowed that way are rejected here too (asserted).

The 90 % posterior intervals of the host levels hold the truth in 85-95 % of cases: with
`REPLICATIONS` x `HOSTS` = 1,800 levels (sd of the share about 0.007 if independent; hosts of
one replication share their hyperparameters), a correct posterior leaves that band with
probability below 1e-5. (With 99 draws, the interval between their interpolated 5 % and
95 % quantiles holds a draw of the same law with probability 0.892, not 0.90; this run: 0.879.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from forecast.analysis import posterior as post
from forecast.model.spread import FITTED

REPLICATIONS = 300
HOSTS = 6
DRAWS = 99
BINS = 10
ALPHA_EACH = 1e-3
CHI2_CRIT = float(stats.chi2.ppf(1 - ALPHA_EACH, BINS - 1))
#: The laws cycled through: the heaviest tails of MODEL.md's real sessions among them.
LAWS = (
    ("KOL", "conversion"),
    ("celebrity", "traffic"),
    ("KOL", "engagement"),
    ("celebrity", "stay"),
)
TAU0 = {"conversion": 0.68, "traffic": 0.59, "engagement": 0.93, "stay": 0.20}


def jumps_of(key: tuple[str, str]) -> post.Jumps:
    law = FITTED[key]
    return post.Jumps(law.flop_prob, law.flop_mean, law.hit_prob, law.hit_mean)


def test_density_and_cdf_are_the_law() -> None:
    """log_density integrates to 1 and its integral is log_cdf's CDF, which is
    `EffectLaw.raw_cdf` (closed forms against quadrature, to 1e-6)."""
    for key in FITTED:
        law = FITTED[key]
        j = jumps_of(key)
        for extra in (0.0, 0.3):
            sd = math.sqrt(law.sd**2 + extra**2)
            x = np.linspace(-60, 30, 400_001)
            dens = np.exp(post.log_density(x, np.full(x.size, sd), j))
            assert np.trapezoid(dens, x) == pytest.approx(1.0, abs=1e-6)
            cdf = integrate.cumulative_trapezoid(dens, x, initial=0.0)
            for q in (-3.0, -0.5, 0.0, 0.4, 1.0):
                got = math.exp(float(post.log_cdf(np.array([q]), np.array([sd]), j)[0]))
                assert got == pytest.approx(float(np.interp(q, x, cdf)), abs=1e-5)
                if extra == 0.0:
                    assert got == pytest.approx(j.law(law.sd).raw_cdf(q), abs=1e-9)


def replicate(r: int) -> dict[str, np.ndarray]:
    """One SBC replication: truth from the prior, data, fit; ranks and 90 % coverage."""
    rng = np.random.default_rng([7, r])
    cls, metric = LAWS[r % len(LAWS)]
    j = jumps_of((cls, metric))
    prior = post.Prior(tau0=TAU0[metric], sigma0=FITTED[(cls, metric)].sd)
    mu = rng.normal(0.0, post.MU_SD)
    tau = prior.tau0 * math.exp(post.LOG_SD_TAU * rng.normal())
    sigma = prior.sigma0 * math.exp(post.LOG_SD_SIGMA * rng.normal())
    a = mu + tau * rng.standard_normal(HOSTS)
    n = rng.integers(1, 40, HOSTS)
    host = np.repeat(np.arange(HOSTS), n)
    var = rng.choice([0.0, 1e-3, 0.02], host.size)  # count noise, some sessions small
    y = post.simulate(host, a, sigma, j, var, rng)
    cens = np.zeros(host.size, dtype=bool)
    fit = post.fit(post.Data(HOSTS, host, y, cens, var), j, prior, DRAWS, rng)
    lo, hi = np.quantile(fit.a, [0.05, 0.95], axis=0)
    narrow = fit.a.mean(axis=0) + 0.7 * (fit.a - fit.a.mean(axis=0))
    return {
        "host": np.array([(fit.a[:, 0] < a[0]).sum()]),
        "mu": np.array([(fit.mu < mu).sum()]),
        "tau": np.array([(fit.tau < tau).sum()]),
        "sigma": np.array([(fit.sigma < sigma).sum()]),
        "narrow": np.array([(narrow[:, 0] < a[0]).sum()]),
        "covered": (lo <= a) & (a <= hi),
    }


def chi2_uniform(ranks: np.ndarray) -> float:
    counts = np.histogram(ranks, bins=BINS, range=(0, DRAWS + 1))[0]
    expected = ranks.size / BINS
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.fixture(scope="module")
def sbc() -> dict[str, np.ndarray]:
    reps = [replicate(r) for r in range(REPLICATIONS)]
    return {k: np.concatenate([x[k] for x in reps]) for k in reps[0]}


@pytest.mark.slow
@pytest.mark.parametrize("quantity", ["host", "mu", "tau", "sigma"])
def test_sbc_ranks_uniform(sbc: dict[str, np.ndarray], quantity: str) -> None:
    assert chi2_uniform(sbc[quantity]) < CHI2_CRIT


@pytest.mark.slow
def test_sbc_rejects_a_posterior_30_percent_too_narrow(sbc: dict[str, np.ndarray]) -> None:
    assert chi2_uniform(sbc["narrow"]) > CHI2_CRIT


def test_sbc_power() -> None:
    """Power of the chi-square against a posterior 30 % too narrow, for a normal posterior:
    the rank's bin probabilities are P(Phi(Z / 0.7) in bin), the noncentrality
    R x sum (p - 1/B)^2 / (1/B)."""
    edges = stats.norm.ppf(np.linspace(0, 1, BINS + 1)) * 0.7
    p = np.diff(stats.norm.cdf(edges))
    lam = REPLICATIONS * float(((p - 1 / BINS) ** 2 * BINS).sum())
    power = float(stats.ncx2.sf(CHI2_CRIT, BINS - 1, lam))
    assert power > 0.99


@pytest.mark.slow
def test_sbc_90_percent_intervals_hold_the_truth(sbc: dict[str, np.ndarray]) -> None:
    share = float(sbc["covered"].mean())
    assert 0.85 <= share <= 0.95, share


def test_more_sessions_narrow_the_host_and_a_new_host_is_wider() -> None:
    """A host with 100 sessions is fitted mostly by its own (posterior sd near
    sigma / sqrt(100)); one with 2 borrows from its tier (sd between that and tau); a new
    host carries the whole between-host spread."""
    rng = np.random.default_rng(3)
    j = post.Jumps()
    prior = post.Prior(tau0=0.5, sigma0=0.4)
    host = np.repeat(np.arange(4), [100, 2, 30, 30])
    a = np.array([0.3, -0.2, 0.5, -0.4])
    y = post.simulate(host, a, 0.4, j, np.zeros(host.size), rng)
    fit = post.fit(
        post.Data(4, host, y, np.zeros(host.size, bool), np.zeros(host.size)), j, prior, 2000, rng
    )
    sd = fit.a.std(axis=0)
    assert sd[0] == pytest.approx(0.04, rel=0.3)
    assert sd[0] < sd[2] < sd[1] < fit.new.std()
