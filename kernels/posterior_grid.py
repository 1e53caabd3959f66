"""Compiled parts of the grid posterior of `forecast.analysis.posterior` (one metric of one
tier: tier -> host -> session on grids).

Three loops cost nearly all of a fit of many hosts, and each is here once:

* `log_likelihoods`: the log likelihood of every host's sessions at each of its level grid
  points, per session-core sd: a sum over sessions of the session law's log density (a
  mixture of a normal and two exponentially modified normals) or, for a censored session, of
  its log CDF;
* `level_kernels`: the host-level prior N(a; mu, tau) times the grid's cell width, at every
  (mu, tau) of the hyper grid and every level of a host's grid; the mu grid is uniform, so
  along it each value is the last one times a ratio that itself shrinks by a constant factor
  (two multiplications instead of an exponential; relative error below 1e-11);
* `draw_levels`: host levels drawn by inverse CDF on each host's grid, given a cell of the
  hyper grid, for every draw that fell in that cell.

No randomness is drawn here: the uniforms come from the caller. Every output element is
written by one thread in a fixed order, so results do not depend on the thread count.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from kernels.options import jit, pjit

_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@jit
def ndtr(x: float) -> float:
    """P(Z <= x), Z standard normal."""
    return 0.5 * math.erfc(-x / _SQRT2)


@jit
def log_ndtr(x: float) -> float:
    """log P(Z <= x), accurate to a few ulps over the whole line: log1p of the upper tail
    above 6, the log of erfc in between, and below -20 the asymptotic series of the Mills
    ratio (terms below 1e-17 from the ninth on)."""
    if x > 6.0:
        return math.log1p(-0.5 * math.erfc(x / _SQRT2))
    if x > -20.0:
        return math.log(0.5 * math.erfc(-x / _SQRT2))
    inv = 1.0 / (x * x)
    term = 1.0
    total = 1.0
    for k in range(1, 13):
        term *= -(2.0 * k - 1.0) * inv
        total += term
    return -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI + math.log(total)


@jit
def _exg_up_cdf(y: float, sd: float, mean: float) -> float:
    """P(sd Z + E <= y), E ~ Exp(mean)."""
    tail = math.exp(min(-y / mean + 0.5 * (sd / mean) ** 2 + log_ndtr(y / sd - sd / mean), 700.0))
    return min(max(ndtr(y / sd) - tail, 0.0), 1.0)


@jit
def log_cdf(x: float, sd: float, jumps: np.ndarray) -> float:
    """log P(sd Z + J <= x) of the uncentered session law sd Z + J; ``jumps`` = (flop
    prob, flop mean, hit prob, hit mean), J = -Exp(flop mean) or +Exp(hit mean) with those
    odds."""
    flop_p, flop_m, hit_p, hit_m = jumps[0], jumps[1], jumps[2], jumps[3]
    total = (1.0 - flop_p - hit_p) * ndtr(x / sd)
    if flop_p > 0.0:
        total += flop_p * (1.0 - _exg_up_cdf(-x, sd, flop_m))
    if hit_p > 0.0:
        total += hit_p * _exg_up_cdf(x, sd, hit_m)
    return math.log(min(max(total, 1e-300), 1.0))


@jit
def log_density_row(
    base: float, sd: float, jumps: np.ndarray, levels: np.ndarray, out: np.ndarray
) -> None:
    """out[a] += log f(base - levels[a]; sd), f the density of the session law sd Z + J
    (``jumps`` as `log_cdf`): a normal and two exponentially modified normals summed in log
    space, everything that does not depend on the level computed once a row."""
    flop_p, flop_m, hit_p, hit_m = jumps[0], jumps[1], jumps[2], jumps[3]
    none = 1.0 - flop_p - hit_p
    inv_sd = 1.0 / sd
    c0 = math.log(max(none, 1e-300)) - math.log(sd) - _LOG_SQRT_2PI if none > 0.0 else -np.inf
    has_flop, has_hit = flop_p > 0.0, hit_p > 0.0
    cf = kf = ch = kh = 0.0
    if has_flop:
        kf = sd / flop_m
        cf = math.log(flop_p) - math.log(flop_m) + 0.5 * kf * kf
    if has_hit:
        kh = sd / hit_m
        ch = math.log(hit_p) - math.log(hit_m) + 0.5 * kh * kh
    for a in range(levels.size):
        x = base - levels[a]
        u = x * inv_sd
        p0 = c0 - 0.5 * u * u
        top = p0
        pf = -np.inf
        ph = -np.inf
        if has_flop:
            pf = cf + x / flop_m + log_ndtr(-u - kf)
            top = max(top, pf)
        if has_hit:
            ph = ch - x / hit_m + log_ndtr(u - kh)
            top = max(top, ph)
        if not math.isfinite(top):
            out[a] += top
            continue
        total = math.exp(p0 - top)
        if has_flop:
            total += math.exp(pf - top)
        if has_hit:
            total += math.exp(ph - top)
        out[a] += top + math.log(total)


@pjit
def log_likelihoods(
    host: np.ndarray,
    y: np.ndarray,
    censored: np.ndarray,
    var: np.ndarray,
    grid: np.ndarray,
    sigmas: np.ndarray,
    medians: np.ndarray,
    jumps: np.ndarray,
) -> np.ndarray:
    """[S, H, A]: at each session-core sd ``sigmas[i]`` (law median ``medians[i]``), the sum
    over host h's sessions s of log f(y_s - grid[h, a] + median; sqrt(sigma^2 + var_s)),
    f the law's density, or its CDF where the session is censored. Sessions are summed in
    their order; one thread owns each sd."""
    n_s = sigmas.size
    hosts, n_a = grid.shape
    out = np.zeros((n_s, hosts, n_a))
    for i in numba.prange(n_s):
        s2 = sigmas[i] * sigmas[i]
        med = medians[i]
        for k in range(y.size):
            h = host[k]
            sd = math.sqrt(s2 + var[k])
            base = y[k] + med
            if censored[k]:
                for a in range(n_a):
                    out[i, h, a] += log_cdf(base - grid[h, a], sd, jumps)
            else:
                log_density_row(base, sd, jumps, grid[h], out[i, h])
    return out


@pjit
def level_kernels(
    grid: np.ndarray,
    weight: np.ndarray,
    mu0: float,
    mu_step: float,
    n_mu: int,
    taus: np.ndarray,
    out: np.ndarray,
) -> None:
    """Into ``out[:H]`` [H, A, n_mu * T] (every element written, so a buffer can be reused
    without clearing): N(grid[h, a]; mu, tau) * weight[h, a] at mu = mu0 + j mu_step (j <
    ``n_mu``) and tau = taus[t], column j * T + t (a row of one level stays in cache). For
    each (h, t, a) the exponential is taken at the mu nearest the level, and the rest follow
    by e_{j+1} = e_j r_j, r_{j+1} = r_j exp(-d^2) with d = mu_step / tau, outwards in both
    directions (values only fall, so nothing overflows; an underflow to 0 stays 0, as the
    exact values are smaller still)."""
    hosts, n_a = grid.shape
    n_t = taus.size
    for h in numba.prange(hosts):
        for a in range(n_a):
            row = out[h, a]
            row[:] = 0.0
            w = weight[h, a]
            if w == 0.0:
                continue
            for t in range(n_t):
                tau = taus[t]
                d = mu_step / tau
                shrink = math.exp(-d * d)
                scale = w / (tau * math.sqrt(2.0 * math.pi))
                z0 = (grid[h, a] - mu0) / tau
                j0 = int(min(max(z0 / d, 0.0), n_mu - 1.0) + 0.5)
                z = z0 - j0 * d
                e0 = math.exp(-0.5 * z * z)
                row[j0 * n_t + t] = e0 * scale
                e = e0
                r = math.exp(z * d - 0.5 * d * d)
                for j in range(j0 + 1, n_mu):
                    e *= r
                    r *= shrink
                    if e == 0.0:
                        break
                    row[j * n_t + t] = e * scale
                e = e0
                r = math.exp(-z * d - 0.5 * d * d)
                for j in range(j0 - 1, -1, -1):
                    e *= r
                    r *= shrink
                    if e == 0.0:
                        break
                    row[j * n_t + t] = e * scale


@pjit
def draw_levels(
    log_lik: np.ndarray,
    grid: np.ndarray,
    log_weight: np.ndarray,
    cell_sigma: np.ndarray,
    cell_mu: np.ndarray,
    cell_tau: np.ndarray,
    cell_of: np.ndarray,
    u_pick: np.ndarray,
    u_jitter: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """[D, H] host levels: draw d of host h from the host's grid with weights
    exp(log_lik[sigma, h, a] + log_weight[h, a]) N(grid[h, a]; mu, tau) of the hyper cell
    ``cell_of[d]`` (index into ``cell_sigma``, ``cell_mu``, ``cell_tau``), the grid point the
    first whose cumulative weight reaches ``u_pick[d, h]`` of the total, then uniform within
    its cell [lo, hi) by ``u_jitter[d, h]``. Zero weights (padding) are never picked."""
    draws, hosts = u_pick.shape
    n_a = grid.shape[1]
    n_cells = cell_mu.size
    out = np.empty((draws, hosts))
    # the draws of each cell, in draw order
    count = np.zeros(n_cells + 1, dtype=np.int64)
    for d in range(draws):
        count[cell_of[d] + 1] += 1
    for c in range(n_cells):
        count[c + 1] += count[c]
    members = np.empty(draws, dtype=np.int64)
    fill = count[:-1].copy()
    for d in range(draws):
        members[fill[cell_of[d]]] = d
        fill[cell_of[d]] += 1
    for h in numba.prange(hosts):
        logw = np.empty(n_a)
        cdf = np.empty(n_a)
        for c in range(n_cells):
            s, mu, tau = cell_sigma[c], cell_mu[c], cell_tau[c]
            top = -np.inf
            for a in range(n_a):
                z = (grid[h, a] - mu) / tau
                v = log_lik[s, h, a] + log_weight[h, a] - 0.5 * z * z
                logw[a] = v
                top = max(top, v)
            acc = 0.0
            for a in range(n_a):
                acc += math.exp(logw[a] - top)
                cdf[a] = acc
            for m in range(count[c], count[c + 1]):
                d = members[m]
                target = u_pick[d, h] * acc
                k = np.searchsorted(cdf, target)
                k = min(k, n_a - 1)
                out[d, h] = lo[h, k] + u_jitter[d, h] * (hi[h, k] - lo[h, k])
    return out
