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

Cost: the log likelihoods, the host-level kernels and the draws of host levels run as
compiled loops (`forecast.engine.posterior_grid`), the integrals as matrix products. From
`LOCATE_HOSTS` hosts on, a sub-grid first locates the hyper cells that hold the posterior
and only those are computed (a fit of many hosts has its posterior on a few of the 36,864
cells); the result equals the full computation to 1e-9 in total variation (tested against
the host-by-host NumPy code in ``tests/naive_posterior.py``). A fit of 3,000 hosts and 9,073
sessions costs 14 s here for all five metrics, 10x less than before.
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
    """Lower and upper edges of the cells around each grid point along the last axis
    (midpoints between points; the end cells are as wide as their neighbours)."""
    mid = 0.5 * (grid[..., 1:] + grid[..., :-1])
    first, last = grid[..., :1], grid[..., -1:]
    lo = np.concatenate([first - (mid[..., :1] - first), mid], axis=-1)
    hi = np.concatenate([mid, last + (last - mid[..., -1:])], axis=-1)
    return lo, hi


def _by_host(d: Data) -> list[np.ndarray]:
    """The uncensored values of each host, in one pass (a host with none gets an empty
    array)."""
    keep = ~d.censored
    host, y = d.host[keep], d.y[keep]
    order = np.argsort(host, kind="stable")
    bounds = np.searchsorted(host[order], np.arange(d.hosts + 1))
    ys = y[order]
    return [ys[bounds[h] : bounds[h + 1]] for h in range(d.hosts)]


def _host_grids(values: list[np.ndarray], mu_lo: float, mu_hi: float, wide: float) -> np.ndarray:
    """A grid of host levels per host [hosts, A]: fine around the host's data, coarse over
    the range of mu, sorted (padded by repeating the last point, whose cell then is empty)."""
    grids = []
    for ys in values:
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
    """Cell widths of each grid point along the last axis (0 for padding repeats)."""
    lo, hi = _cells(grid)
    width = hi - lo
    width[..., 1:][np.diff(grid, axis=-1) == 0.0] = 0.0
    out: np.ndarray = width
    return out


#: Hosts whose level kernels are held at once in the marginal (about 28 MB at the default
#: grid sizes, one buffer reused: a fresh one a chunk cost more in page faults than the
#: kernels themselves).
HOST_CHUNK = 8


@dataclass(frozen=True)
class Grids:
    """One tier and metric on its grids: the hyper grids (``log_sigma`` [S], ``mus`` [M],
    ``log_tau`` [T]), each host's level grid and cell widths [H, A], the log likelihood of
    each host's data at each level and sigma [S, H, A], and the posterior of the hyper cells
    ``p`` [S * M * T] (index (s * M + m) * T + t)."""

    log_sigma: np.ndarray
    mus: np.ndarray
    log_tau: np.ndarray
    grid: np.ndarray
    weight: np.ndarray
    log_lik: np.ndarray
    p: np.ndarray


def _log_marginals(
    log_lik: np.ndarray, grid: np.ndarray, weight: np.ndarray, mus: np.ndarray, taus: np.ndarray
) -> np.ndarray:
    """[S', M' * T']: sum over hosts of log integral_a N(a; mu, tau) L_h(a | sigma) da, for
    the sigmas of ``log_lik`` [S', H, A] and every (mu, tau) of ``mus`` (uniform) x ``taus``;
    the integrals on each host's grid as one matrix product per host, in chunks of
    `HOST_CHUNK` hosts summed in order."""
    from forecast.engine import posterior_grid as pg

    hosts = grid.shape[0]
    out = np.zeros((log_lik.shape[0], mus.size * taus.size))
    peak = log_lik.max(axis=2)  # [S', H]
    lik = np.ascontiguousarray(np.exp(log_lik - peak[:, :, None]).transpose(1, 2, 0))  # [H, A, S']
    buffer = np.empty((min(HOST_CHUNK, hosts), grid.shape[1], mus.size * taus.size))
    for h0 in range(0, hosts, HOST_CHUNK):
        h1 = min(h0 + HOST_CHUNK, hosts)
        kern = pg.level_kernels(grid[h0:h1], weight[h0:h1], mus, taus, buffer)  # [c, A, MT]
        m = np.matmul(kern.transpose(0, 2, 1), lik[h0:h1])  # [c, MT, S']
        log_m = np.log(np.maximum(m, 1e-300)) + peak[:, h0:h1].T[:, None, :]
        out += log_m.sum(axis=0).T
    return out


#: Below this many hosts every cell of the hyper grid is computed. From it on, the cells are
#: first located on a sub-grid (every `LOCATE_STEP` point of each axis) and only the box of
#: cells within `LOCATE_NATS` of the sub-grid's best, widened by one sub-grid step each way,
#: is computed, then widened by a step wherever a face of it is still within `LOCATE_NATS`
#: of the best cell: a fit of many hosts has its posterior on a few cells, and the rest cost
#: nearly all the work (1,500 hosts: 8 cells hold all but 1e-12 of it).
LOCATE_HOSTS = 64
#: Steps of the locating sub-grid along sigma, mu and tau.
LOCATE_STEP = (3, 4, 3)
#: Cells of the sub-grid this far below its best (log posterior) are taken as empty: e^-40
#: is 4e-18.
LOCATE_NATS = 40.0


def _sub(n: int, step: int) -> np.ndarray:
    """Every ``step``-th index of ``n``, the last one always included."""
    return np.unique(np.concatenate([np.arange(0, n, step), [n - 1]]))


def hyper_posterior(d: Data, jumps: Jumps, prior: Prior) -> Grids:
    """The grid posterior of (sigma, mu, tau), each host's level integrated out on its grid
    (see the module docstring): the log likelihoods and the level kernels by the compiled
    loops of `forecast.engine.posterior_grid`, the sums over levels as matrix products. From
    `LOCATE_HOSTS` hosts on, only the cells a sub-grid locates are computed (the others get
    probability 0 and a NaN log likelihood in ``log_lik``)."""
    from forecast.engine import posterior_grid as pg

    log_sigma = math.log(prior.sigma0) + LOG_SD_SIGMA * np.linspace(-SPAN, SPAN, N_SIGMA)
    log_tau = math.log(prior.tau0) + LOG_SD_TAU * np.linspace(-SPAN, SPAN, N_TAU)
    sigmas, taus = np.exp(log_sigma), np.exp(log_tau)
    values = _by_host(d)
    centres = [float(np.median(ys)) for ys in values if ys.size]
    lo = min([*centres, -1.0]) - 1.5
    hi = max([*centres, 1.0]) + 1.5
    if not centres:
        lo, hi = -SPAN * MU_SD, SPAN * MU_SD
    mus = np.linspace(lo, hi, N_MU)
    wide = 3.0 * float(taus[N_TAU // 2]) + 4.0
    grid = _host_grids(values, lo, hi, wide)  # [H, A]
    weight = _trapezoid_weights(grid)  # [H, A]
    medians = np.array([jumps.law(s).median() for s in sigmas])
    parts = (jumps.flop_prob, jumps.flop_mean, jumps.hit_prob, jumps.hit_mean)
    log_prior = (
        (-0.5 * ((log_sigma - math.log(prior.sigma0)) / LOG_SD_SIGMA) ** 2)[:, None, None]
        + (-0.5 * (mus / MU_SD) ** 2)[None, :, None]
        + (-0.5 * ((log_tau - math.log(prior.tau0)) / LOG_SD_TAU) ** 2)[None, None, :]
    )  # [S, M, T]

    log_lik = np.full((N_SIGMA, d.hosts, grid.shape[1]), np.nan)

    def likelihoods(index: np.ndarray) -> np.ndarray:
        todo = index[np.isnan(log_lik[index, 0, 0])]
        if todo.size:
            log_lik[todo] = pg.log_likelihoods(
                d.host, d.y, d.censored, d.var, grid, sigmas[todo], medians[todo], parts
            )
        out: np.ndarray = log_lik[index]
        return out

    log_post = np.full((N_SIGMA, N_MU, N_TAU), -np.inf)
    sizes = (N_SIGMA, N_MU, N_TAU)

    def fill(first: list[int], last: list[int]) -> None:
        """The log posterior of the cells first[i] <= index <= last[i] on each axis."""
        idx = [np.arange(f, t + 1) for f, t in zip(first, last, strict=True)]
        if min(i.size for i in idx) == 0:
            return
        marg = _log_marginals(likelihoods(idx[0]), grid, weight, mus[idx[1]], taus[idx[2]])
        log_post[np.ix_(*idx)] = (
            marg.reshape(idx[0].size, idx[1].size, idx[2].size) + log_prior[np.ix_(*idx)]
        )

    if d.hosts < LOCATE_HOSTS:
        fill([0, 0, 0], [n - 1 for n in sizes])
    else:
        sub = [_sub(n, k) for n, k in zip(sizes, LOCATE_STEP, strict=True)]
        marg = _log_marginals(likelihoods(sub[0]), grid, weight, mus[sub[1]], taus[sub[2]])
        coarse = marg.reshape(sub[0].size, sub[1].size, sub[2].size) + log_prior[np.ix_(*sub)]
        near = np.nonzero(coarse >= coarse.max() - LOCATE_NATS)
        first = [max(int(sub[i][near[i].min()]) - LOCATE_STEP[i], 0) for i in range(3)]
        last = [min(int(sub[i][near[i].max()]) + LOCATE_STEP[i], sizes[i] - 1) for i in range(3)]
        fill(first, last)
        # widen the box while a face of it is within LOCATE_NATS of the best (the posterior's
        # mass then lies inside: the sub-grid can miss a tail where the axes correlate)
        while True:
            top = log_post.max()
            grown = False
            for axis in range(3):
                for side in (0, 1):
                    edge = first[axis] if side == 0 else last[axis]
                    if edge == (0 if side == 0 else sizes[axis] - 1):
                        continue
                    face = [slice(f, t + 1) for f, t in zip(first, last, strict=True)]
                    face[axis] = slice(edge, edge + 1)
                    if log_post[tuple(face)].max() < top - LOCATE_NATS:
                        continue
                    lo_new, hi_new = list(first), list(last)
                    if side == 0:
                        lo_new[axis] = max(edge - LOCATE_STEP[axis], 0)
                        hi_new[axis] = edge - 1
                        first[axis] = lo_new[axis]
                    else:
                        lo_new[axis] = edge + 1
                        hi_new[axis] = min(edge + LOCATE_STEP[axis], sizes[axis] - 1)
                        last[axis] = hi_new[axis]
                    fill(lo_new, hi_new)
                    grown = True
            if not grown:
                break
    flat = log_post.ravel()
    p = np.exp(flat - flat.max())
    p /= p.sum()
    return Grids(log_sigma, mus, log_tau, grid, weight, log_lik, p)


def fit(d: Data, jumps: Jumps, prior: Prior, draws: int, rng: np.random.Generator) -> Posterior:
    """The posterior of one tier and metric as ``draws`` draws (see the module docstring):
    a cell of the hyper grid by its posterior, (sigma, mu, tau) jittered within it, and each
    host's level from its grid given the cell (at the cell's grid point, so that the draws
    of one cell share one conditional law: a fit of many hosts has a narrow posterior and few
    distinct cells)."""
    from forecast.engine import posterior_grid as pg

    g = hyper_posterior(d, jumps, prior)
    cell = rng.choice(g.p.size, size=draws, p=g.p)
    i_s, i_mt = np.divmod(cell, N_MU * N_TAU)
    i_mu, i_tau = np.divmod(i_mt, N_TAU)
    u = rng.random((draws, 3)) - 0.5
    mu = g.mus[i_mu] + u[:, 0] * (g.mus[1] - g.mus[0])
    tau = np.exp(g.log_tau[i_tau] + u[:, 1] * (g.log_tau[1] - g.log_tau[0]))
    sigma = np.exp(g.log_sigma[i_s] + u[:, 2] * (g.log_sigma[1] - g.log_sigma[0]))
    distinct, cell_of = np.unique(cell, return_inverse=True)
    c_s, c_mt = np.divmod(distinct, N_MU * N_TAU)
    c_mu, c_tau = np.divmod(c_mt, N_TAU)
    cells = (c_s, g.mus[c_mu], np.exp(g.log_tau[c_tau]))
    u_pick = rng.random((draws, d.hosts))
    u_jitter = rng.random((draws, d.hosts))
    lo, hi = _cells(g.grid)
    with np.errstate(divide="ignore"):
        log_weight = np.where(g.weight > 0.0, np.log(g.weight), -np.inf)
    a = pg.draw_levels(
        g.log_lik, g.grid, log_weight, cells, cell_of.ravel(), u_pick, u_jitter, lo, hi
    )
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


__all__ = [
    "Data",
    "Grids",
    "Jumps",
    "Posterior",
    "Prior",
    "fit",
    "hyper_posterior",
    "log_cdf",
    "log_density",
    "simulate",
]
