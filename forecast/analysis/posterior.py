"""The exact posterior of one metric's hierarchy, tier -> host -> session, on grids.

For one tier and one metric (traffic, conversion, engagement, stay or price) each session s
of host j gives an observation on the log scale

    y_s = a_j + (X_s - median X) + eps_s,

a_j the host's log level (relative to the tier's preset), X_s the session effect of the
simulator (`forecast.model.spread`: a normal core of sd ``sigma`` with flops and hits of the
tier's fitted sizes) and eps_s ~ N(0, v_s) the viewer-level count noise (v_s = 1 / count, the
delta method on a Poisson count). Hosts are a_j ~ N(mu, tau^2). A session whose count is 0 is
censored: y_s <= its threshold. Priors: mu ~ N(0, `MU_SD`^2) (the preset is the typical
host), log tau ~ N(log tau0, `LOG_SD_TAU`^2) with tau0 MODEL.md's between-host sd, log sigma ~
N(log sigma0, `LOG_SD_SIGMA`^2) with sigma0 the preset's session-core sd.

The likelihood is exact (the session law has a closed-form density, a mixture of
exponentially modified Gaussians), so the posterior is computed, not sampled by a chain: the
host levels are integrated on a grid per host for every (sigma, mu, tau) of a grid, which is
one matrix product per host, and draws are taken from the grid by inverse CDF, jittered
within their cells. Nothing here is random but the draws, which come from the caller's
generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr

from forecast.model.spread import EffectLaw

#: Prior sd of the tier's mean log level around the preset (a factor e = 2.7 either way).
MU_SD = 1.0
#: Prior sd of log tau (between-host sd) around MODEL.md's figure.
LOG_SD_TAU = 0.75
#: Prior sd of log sigma (session-core sd) around the preset's.
LOG_SD_SIGMA = 0.5
#: Grid sizes: sigma, tau, mu, host level (fine part around the host's data, coarse part).
N_SIGMA, N_TAU, N_MU, N_FINE, N_COARSE = 24, 24, 64, 121, 161
#: The hyper grids span this many prior sds either side of the prior centre.
SPAN = 3.0


@dataclass(frozen=True)
class Jumps:
    """The flop and hit parts of a session law (their sizes and odds are the tier's, fixed)."""

    flop_prob: float = 0.0
    flop_mean: float = 1.0
    hit_prob: float = 0.0
    hit_mean: float = 0.5

    def law(self, sigma: float) -> EffectLaw:
        """The full law with core sd ``sigma``."""
        return EffectLaw(sigma, self.flop_prob, self.flop_mean, self.hit_prob, self.hit_mean)


def log_density(x: np.ndarray, sd: np.ndarray, j: Jumps) -> np.ndarray:
    """log pdf at ``x`` of the *uncentered* law sd Z + J (elementwise ``sd`` > 0)."""
    none = 1.0 - j.flop_prob - j.hit_prob
    parts = [
        math.log(max(none, 1e-300)) - 0.5 * (x / sd) ** 2 - np.log(sd * math.sqrt(2 * math.pi))
    ]
    for prob, mean, sign in ((j.flop_prob, j.flop_mean, -1.0), (j.hit_prob, j.hit_mean, 1.0)):
        if prob > 0.0:
            y = sign * x  # sd Z + E at y
            parts.append(
                math.log(prob)
                - math.log(mean)
                + 0.5 * (sd / mean) ** 2
                - y / mean
                + log_ndtr(y / sd - sd / mean)
            )
    if none <= 0.0:
        parts = parts[1:]
    return np.asarray(logsumexp(np.stack(parts), axis=0))


def _exg_up_cdf(y: np.ndarray, sd: np.ndarray, mean: float) -> np.ndarray:
    """P(sd Z + E <= y), E ~ Exp(mean)."""
    tail = np.exp(
        np.minimum(-y / mean + 0.5 * (sd / mean) ** 2 + log_ndtr(y / sd - sd / mean), 700)
    )
    out: np.ndarray = np.clip(ndtr(y / sd) - tail, 0.0, 1.0)
    return out


def log_cdf(x: np.ndarray, sd: np.ndarray, j: Jumps) -> np.ndarray:
    """log P(sd Z + J <= x) of the uncentered law."""
    none = 1.0 - j.flop_prob - j.hit_prob
    total = none * ndtr(x / sd)
    if j.flop_prob > 0.0:
        total = total + j.flop_prob * (1.0 - _exg_up_cdf(-x, sd, j.flop_mean))
    if j.hit_prob > 0.0:
        total = total + j.hit_prob * _exg_up_cdf(x, sd, j.hit_mean)
    out: np.ndarray = np.log(np.clip(total, 1e-300, 1.0))
    return out


@dataclass(frozen=True)
class Prior:
    """Prior centres of one tier and metric: tau0 (between-host sd), sigma0 (session-core
    sd); mu is centred on 0 (the preset)."""

    tau0: float
    sigma0: float


@dataclass(frozen=True)
class Data:
    """One metric's observations of one tier: per observation the host index (0..hosts-1),
    the value (or the censoring threshold), whether it is censored, and its count variance."""

    hosts: int
    host: np.ndarray  # int64[N]
    y: np.ndarray  # float64[N]
    censored: np.ndarray  # bool[N]
    var: np.ndarray  # float64[N]


@dataclass(frozen=True)
class Posterior:
    """Draws of one tier's hierarchy for one metric: ``mu``, ``tau``, ``sigma`` [D] and the
    host levels ``a`` [D, hosts]; ``new`` [D] a host of the tier not in the data."""

    mu: np.ndarray
    tau: np.ndarray
    sigma: np.ndarray
    a: np.ndarray
    new: np.ndarray


def _cells(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges of the cells around each grid point (midpoints between points;
    the end cells are as wide as their neighbours)."""
    mid = 0.5 * (grid[1:] + grid[:-1])
    lo = np.concatenate([[grid[0] - (mid[0] - grid[0])], mid])
    hi = np.concatenate([mid, [grid[-1] + (grid[-1] - mid[-1])]])
    return lo, hi


def _host_grids(d: Data, mu_lo: float, mu_hi: float, wide: float) -> np.ndarray:
    """A grid of host levels per host [hosts, A]: fine around the host's data, coarse over
    the range of mu, sorted (padded by repeating the last point, whose cell then is empty)."""
    grids = []
    for h in range(d.hosts):
        sel = (d.host == h) & ~d.censored
        ys = d.y[sel]
        if ys.size:
            centre = float(np.median(ys))
            spread = max(float(1.4826 * np.median(np.abs(ys - centre))), 0.05)
            half = max(8.0 * 1.3 * spread / math.sqrt(ys.size), 0.25)
            fine = centre + np.linspace(-half, half, N_FINE)
            lo, hi = min(centre, mu_lo) - wide, max(centre, mu_hi) + wide
        else:
            fine = np.empty(0)
            lo, hi = mu_lo - wide, mu_hi + wide
        coarse = np.linspace(lo, hi, N_COARSE)
        grids.append(np.unique(np.concatenate([fine, coarse])))
    size = max(g.size for g in grids)
    return np.stack([np.concatenate([g, np.full(size - g.size, g[-1])]) for g in grids])


def _trapezoid_weights(grid: np.ndarray) -> np.ndarray:
    """Cell widths of each grid point (0 for padding repeats)."""
    lo, hi = _cells(grid)
    width = hi - lo
    width[1:][np.diff(grid) == 0.0] = 0.0
    out: np.ndarray = width
    return out


def fit(d: Data, jumps: Jumps, prior: Prior, draws: int, rng: np.random.Generator) -> Posterior:
    """The posterior of one tier and metric as ``draws`` draws (see the module docstring)."""
    log_sigma = math.log(prior.sigma0) + LOG_SD_SIGMA * np.linspace(-SPAN, SPAN, N_SIGMA)
    log_tau = math.log(prior.tau0) + LOG_SD_TAU * np.linspace(-SPAN, SPAN, N_TAU)
    sigmas, taus = np.exp(log_sigma), np.exp(log_tau)
    observed = d.y[~d.censored]
    centres = [
        float(np.median(d.y[(d.host == h) & ~d.censored]))
        for h in range(d.hosts)
        if np.any((d.host == h) & ~d.censored)
    ]
    lo = min([*centres, -1.0]) - 1.5
    hi = max([*centres, 1.0]) + 1.5
    if observed.size == 0:
        lo, hi = -SPAN * MU_SD, SPAN * MU_SD
    mus = np.linspace(lo, hi, N_MU)
    wide = 3.0 * float(taus[N_TAU // 2]) + 4.0
    grid = _host_grids(d, lo, hi, wide)  # [H, A]
    weight = np.stack([_trapezoid_weights(g) for g in grid])  # [H, A]
    medians = np.array([jumps.law(s).median() for s in sigmas])

    # log likelihood of each host's observations at each host level, per sigma: [S, H, A]
    log_lik = np.zeros((N_SIGMA, d.hosts, grid.shape[1]))
    if d.y.size:
        levels = grid[d.host]  # [N, A]
        for i, (s, med) in enumerate(zip(sigmas, medians, strict=True)):
            sd = np.sqrt(s * s + d.var)[:, None]
            x = d.y[:, None] - levels + med
            per = np.where(d.censored[:, None], log_cdf(x, sd, jumps), log_density(x, sd, jumps))
            np.add.at(log_lik[i], d.host, per)

    # marginal of each host at each (sigma, mu, tau): one matrix product per host
    mt_mu = np.repeat(mus, N_TAU)
    mt_tau = np.tile(taus, N_MU)
    log_marg = np.zeros((N_SIGMA, N_MU * N_TAU))
    peak = log_lik.max(axis=2, keepdims=True)  # [S, H, 1]
    lik = np.exp(log_lik - peak)
    for h in range(d.hosts):
        z = (grid[h][None, :] - mt_mu[:, None]) / mt_tau[:, None]
        kern = np.exp(-0.5 * z * z) / (mt_tau[:, None] * math.sqrt(2 * math.pi)) * weight[h]
        m = kern @ lik[:, h, :].T  # [MT, S]
        log_marg += np.log(np.maximum(m.T, 1e-300)) + peak[:, h, :]
    log_prior = (-0.5 * ((log_sigma - math.log(prior.sigma0)) / LOG_SD_SIGMA) ** 2)[:, None] + (
        -0.5 * (mt_mu / MU_SD) ** 2
        - 0.5 * ((np.log(mt_tau) - math.log(prior.tau0)) / LOG_SD_TAU) ** 2
    )[None, :]
    log_post = (log_marg + log_prior).ravel()
    p = np.exp(log_post - log_post.max())
    p /= p.sum()

    # draws: a cell of the hyper grid, jittered within it, then each host level given it
    cell = rng.choice(p.size, size=draws, p=p)
    i_s, i_mt = np.divmod(cell, N_MU * N_TAU)
    i_mu, i_tau = np.divmod(i_mt, N_TAU)
    u = rng.random((draws, 3)) - 0.5
    mu_step = mus[1] - mus[0]
    mu = mus[i_mu] + u[:, 0] * mu_step
    tau = np.exp(log_tau[i_tau] + u[:, 1] * (log_tau[1] - log_tau[0]))
    sigma = np.exp(log_sigma[i_s] + u[:, 2] * (log_sigma[1] - log_sigma[0]))
    a = np.empty((draws, d.hosts))
    for h in range(d.hosts):
        lo_c, hi_c = _cells(grid[h])
        z = (grid[h][None, :] - mu[:, None]) / tau[:, None]
        logw = log_lik[i_s, h, :] - 0.5 * z * z + np.log(np.maximum(weight[h], 1e-300))[None, :]
        logw[:, weight[h] == 0.0] = -np.inf
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        cdf = np.cumsum(w, axis=1)
        cdf /= cdf[:, -1:]
        k = (cdf < rng.random(draws)[:, None]).sum(axis=1)
        k = np.minimum(k, grid.shape[1] - 1)
        a[:, h] = lo_c[k] + rng.random(draws) * (hi_c[k] - lo_c[k])
    new = mu + tau * rng.standard_normal(draws)
    return Posterior(mu=mu, tau=tau, sigma=sigma, a=a, new=new)


def simulate(
    host: np.ndarray,
    a: np.ndarray,
    sigma: float,
    jumps: Jumps,
    var: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Observations y_s = a[host[s]] + centred session effect + N(0, var_s): the data model of
    `fit` (for tests and the predictive)."""
    law = jumps.law(sigma)
    e = law.sample(rng, host.size)
    out: np.ndarray = a[host] + e + np.sqrt(var) * rng.standard_normal(host.size)
    return out


__all__ = ["Data", "Jumps", "Posterior", "Prior", "fit", "log_cdf", "log_density", "simulate"]
