"""The grid posterior's hyper cells computed the obvious way, host by host in NumPy and
scipy (the code the compiled loops of `forecast.engine.posterior_grid` replaced, its per-host grid
construction too, so that the one-pass grouping of `posterior._by_host` is checked as well):
the reference the fast fit is compared with."""

from __future__ import annotations

import math

import numpy as np

from forecast.analysis.posterior import (
    LOG_SD_SIGMA,
    LOG_SD_TAU,
    MU_SD,
    N_COARSE,
    N_FINE,
    N_MU,
    N_SIGMA,
    N_TAU,
    SPAN,
    Data,
    Jumps,
    Prior,
    log_cdf,
    log_density,
)


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


def hyper_posterior(d: Data, jumps: Jumps, prior: Prior) -> np.ndarray:
    """The hyper cells' posterior p [S * M * T], host by host in NumPy."""
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

    return p
