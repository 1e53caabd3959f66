"""The compiled grid posterior (`kernels.posterior_grid` through
`forecast.engine.posterior_grid`) against the obvious code it replaced: the session law's
log density and CDF of scipy, the level kernels' exponentials, and the hyper posterior
computed host by host in NumPy (`tests.naive_posterior`), with and without the sub-grid that
locates the cells of a fit of many hosts. All comparisons are deterministic; tolerances are
stated per test."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy.special import log_ndtr

from forecast.analysis import posterior as post
from forecast.engine import posterior_grid as pg
from forecast.model.spread import FITTED
from tests import naive_posterior as naive

LAWS = [
    ("KOL", "conversion"),
    ("celebrity", "traffic"),
    ("KOL", "engagement"),
    ("celebrity", "stay"),
]


def jumps_of(key: tuple[str, str]) -> post.Jumps:
    law = FITTED[key]
    return post.Jumps(law.flop_prob, law.flop_mean, law.hit_prob, law.hit_mean)


def test_log_ndtr_is_scipys() -> None:
    """Over [-300, 40], relative error below 1e-13 (log P is never near 0 except above 6,
    where the absolute error is below 1e-16)."""
    from kernels.posterior_grid import log_ndtr as compiled

    x = np.concatenate([np.linspace(-300, 40, 20_001), [-20.0, -19.999, 6.0, 6.0001]])
    got = np.array([compiled(float(v)) for v in x])
    ref = log_ndtr(x)
    big = np.abs(ref) > 1e-3
    assert np.max(np.abs(got[big] / ref[big] - 1)) < 1e-13
    assert np.max(np.abs(got[~big] - ref[~big])) < 1e-16


@pytest.mark.parametrize("key", [*LAWS, None])
def test_log_likelihoods_are_the_laws(key: tuple[str, str] | None) -> None:
    """Sums of the compiled log density and log CDF equal those of `posterior.log_density`
    and `posterior.log_cdf` (scipy) to 1e-10 absolute on sums of up to 40 sessions whose
    values reach 12 sds out, censored sessions included."""
    j = jumps_of(key) if key else post.Jumps()
    rng = np.random.default_rng(7)
    hosts, n = 5, 60
    host = rng.integers(0, hosts, n)
    y = rng.normal(0, 1.5, n)
    cens = rng.random(n) < 0.2
    var = rng.choice([0.0, 1e-4, 0.3], n)
    grid = np.sort(rng.uniform(-6, 6, (hosts, 50)), axis=1)
    sigmas = np.array([0.05, 0.4, 1.3])
    medians = np.array([j.law(s).median() for s in sigmas])
    got = pg.log_likelihoods(
        host,
        y,
        cens,
        var,
        grid,
        sigmas,
        medians,
        (j.flop_prob, j.flop_mean, j.hit_prob, j.hit_mean),
    )
    for i, (s, med) in enumerate(zip(sigmas, medians, strict=True)):
        sd = np.sqrt(s * s + var)[:, None]
        x = y[:, None] - grid[host] + med
        per = np.where(cens[:, None], post.log_cdf(x, sd, j), post.log_density(x, sd, j))
        ref = np.zeros((hosts, grid.shape[1]))
        np.add.at(ref, host, per)
        np.testing.assert_allclose(got[i], ref, rtol=1e-12, atol=1e-10)


def test_level_kernels_are_the_exponentials() -> None:
    """The recurrence along mu equals N(a; mu, tau) x width to 1e-11 relative wherever the
    value is above 1e-250 (below, both are negligible next to the row's largest), and is 0
    where the weight is (grid padding)."""
    rng = np.random.default_rng(2)
    grid = np.sort(rng.uniform(-8, 8, (3, 120)), axis=1)
    weight = rng.uniform(0.01, 0.1, grid.shape)
    weight[:, -5:] = 0.0
    mus = np.linspace(-4, 5, 64)
    taus = np.geomspace(0.03, 6.0, 24)
    out = pg.level_kernels(grid, weight, mus, taus, np.full((4, 120, 64 * 24), np.nan))
    mt_mu, mt_tau = np.repeat(mus, 24), np.tile(taus, 64)
    z = (grid[:, :, None] - mt_mu) / mt_tau
    ref = np.exp(-0.5 * z * z) / (mt_tau * np.sqrt(2 * np.pi)) * weight[:, :, None]
    big = ref > 1e-250
    assert np.max(np.abs(out[big] / ref[big] - 1)) < 1e-11
    assert np.all(out[~big] < 1e-240) and np.all(out[:, -5:] == 0.0)


def panel(hosts: int, key: tuple[str, str], seed: int) -> tuple[post.Data, post.Jumps, post.Prior]:
    """``hosts`` hosts of 1-6 sessions each from the model at a drawn truth, a tenth of the
    sessions censored at their value."""
    rng = np.random.default_rng(seed)
    j = jumps_of(key)
    host = np.repeat(np.arange(hosts), rng.integers(1, 7, hosts))
    a = rng.normal(0.2, 0.5, hosts)
    var = rng.choice([1e-5, 1e-3, 0.05], host.size)
    y = post.simulate(host, a, 0.35, j, var, rng)
    cens = rng.random(host.size) < 0.1
    return post.Data(hosts, host, y, cens, var), j, post.Prior(tau0=0.5, sigma0=0.4)


@pytest.mark.parametrize(
    ("hosts", "key"),
    [(12, LAWS[0]), (40, LAWS[1]), (post.LOCATE_HOSTS, LAWS[2]), (400, LAWS[0]), (400, LAWS[3])],
)
def test_hyper_posterior_is_the_naive_one(hosts: int, key: tuple[str, str]) -> None:
    """The hyper cells' posterior equals the host-by-host NumPy computation to 1e-9 in total
    variation: every cell below `LOCATE_HOSTS` hosts, and from it on the cells the sub-grid
    locates (the rest hold less than 1e-9 of the mass)."""
    d, j, prior = panel(hosts, key, seed=hosts)
    got = post.hyper_posterior(d, j, prior).p
    ref = naive.hyper_posterior(d, j, prior)
    assert 0.5 * np.abs(got - ref).sum() < 1e-9


def test_a_fit_is_the_same_bits_on_one_thread_and_on_all() -> None:
    """Every element of the compiled loops is owned by one thread in a fixed order."""
    d, j, prior = panel(300, LAWS[1], seed=5)
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        old = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            runs.append(post.fit(d, j, prior, 500, np.random.default_rng(3)))
        finally:
            numba.set_num_threads(old)
    for name in ("mu", "tau", "sigma", "a", "new"):
        assert np.array_equal(getattr(runs[0], name), getattr(runs[1], name))
