"""Calibration in time: each tier's drift fitted from the dates of its hosts' sessions, and
each fitted host's level carried to its last session.

For one tier and metric, host j's dated observations y (the log deviations of
`forecast.analysis.calibrate`) are, to second order,

    y = a_j 1 + d X + m Y + e,   Cov = d^2 R + m^2 W + s^2 I + diag(count noise),

X the host's standardized drift at the sessions' days (R_ik = exp(-|t_i - t_k| / tau)), Y
the market factor at their weeks (W_ik = phi^|w_i - w_k|), e the session effects (sd s).
The level a_j is integrated out with a flat prior (restricted likelihood, REML), so what is
fitted is how the sessions of a host covary over time, not their level, which the exact
static posterior already gives. (d, s) have a grid posterior (`N_GRID` x `N_GRID`), priors
log d ~ N(log d0, `LOG_SD_DRIFT`^2) around the tier's default (`forecast.model.drift`) and a
flat prior on log s; tau and the market's sd and persistence are the defaults (the market's
sd is fitted from the weekly medians of all hosts where `MARKET_MIN_WEEKS` weeks each hold
sessions of `MARKET_MIN_HOSTS` hosts). The session effects' heavy tails are a Gaussian's
here: values are winsorized at `WINSOR` robust sds of the host-centred residuals first.

Per host, at the fitted (d, s): the level as of its last session, a_j + d X(t_last), is
Gaussian given y, mean c'V^-1 y + (1 - c'V^-1 1) a_hat and variance
(1 - c'V^-1 1)^2 / (1'V^-1 1) + d^2 - c'V^-1 c with c = d^2 R[:, last] (a_hat the GLS
level); the calibration shifts the host's posterior draws to that mean and widens them to at
least that variance. The session law is scaled by s / s_static (both REML on the same values,
s_static with d = 0): what the drift now carries, the session no longer does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from forecast.analysis import posterior as post

#: Grid points per axis of the (drift sd, session sd) posterior.
N_GRID = 13
#: Prior sd of log drift sd around the tier's default.
LOG_SD_DRIFT = 0.5
#: Half-width of the session-sd grid, log units, around the static estimate.
S_SPAN = 1.2
#: The last sessions of a host the fit reads (the recent stretch is what a forecast needs;
#: caps the cost at a 60 x 60 matrix a host).
MAX_HOST_SESSIONS = 60
#: Fewest dated sessions a host needs to inform the drift.
MIN_SESSIONS = 3
#: Values are clipped at this many robust sds of the host-centred residuals.
WINSOR = 3.5
#: The market's sd is fitted only from this many weeks holding sessions of this many hosts.
MARKET_MIN_WEEKS, MARKET_MIN_HOSTS = 8, 5


@dataclass(frozen=True)
class TimeFit:
    """One tier and metric's fit in time (see the module docstring)."""

    drift_sd: float  # sqrt(E[d^2]) under the grid posterior, log units
    drift_days: float  # tau (the default; not fitted)
    session_scale: float  # s / s_static, in [0.2, 1]
    market_sd: float  # the market factor's sd used (fitted or the default), log units
    market_fitted: bool
    shift: np.ndarray  # [hosts] mean of the level at the last session minus the static mean
    level_var: np.ndarray  # [hosts] variance of that level given the data (nan: not dated)
    hosts_used: int  # hosts with at least MIN_SESSIONS dated sessions
    grid_d: np.ndarray  # [N_GRID] drift sds
    grid_s: np.ndarray  # [N_GRID] session sds
    weights: np.ndarray  # [N_GRID, N_GRID] posterior over (d, s)


def _robust_sd(x: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else 0.0


def _groups(
    data: post.Data, days: np.ndarray, centre: np.ndarray
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Hosts' last `MAX_HOST_SESSIONS` dated, uncensored values, winsorized, grouped by count:
    n -> (host indices [G], days [G, n], values [G, n], count variances [G, n])."""
    keep = ~data.censored & np.isfinite(days)
    host, y, var, t = data.host[keep], data.y[keep], data.var[keep], days[keep]
    resid = y - centre[host]
    bound = WINSOR * max(_robust_sd(resid), 1e-3)
    y = centre[host] + np.clip(resid, -bound, bound)
    order = np.lexsort((t, host))
    host, y, var, t = host[order], y[order], var[order], t[order]
    starts = np.flatnonzero(np.r_[True, host[1:] != host[:-1]]) if host.size else np.array([])
    ends = np.r_[starts[1:], host.size].astype(np.int64) if host.size else np.array([])
    by_n: dict[int, list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = {}
    for a, b in zip(starts.astype(np.int64), ends, strict=True):
        a = max(int(a), int(b) - MAX_HOST_SESSIONS)
        n = int(b) - a
        if n >= MIN_SESSIONS:
            by_n.setdefault(n, []).append((int(host[a]), t[a:b], y[a:b], var[a:b]))
    return {
        n: (
            np.array([r[0] for r in rows]),
            np.stack([r[1] for r in rows]),
            np.stack([r[2] for r in rows]),
            np.stack([r[3] for r in rows]),
        )
        for n, rows in by_n.items()
    }


def _kernels(t: np.ndarray, tau: float, phi: float) -> tuple[np.ndarray, np.ndarray]:
    """The drift's and the market's correlation matrices [G, n, n] of sessions at days ``t``
    (remembered per array: the grid asks for the same ones at every cell)."""
    key = (id(t), tau, phi)
    hit = _KERNELS.get(key)
    if hit is not None and hit[0] is t:
        return hit[1], hit[2]
    lag = np.abs(t[:, :, None] - t[:, None, :])
    weeks = np.abs(np.floor(t[:, :, None] / 7.0) - np.floor(t[:, None, :] / 7.0))
    out = (np.exp(-lag / tau), phi**weeks)
    if len(_KERNELS) > 64:
        _KERNELS.clear()
    _KERNELS[key] = (t, *out)
    return out


_KERNELS: dict[tuple[int, float, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _reml(
    groups: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    d: float,
    s: float,
    tau: float,
    m: float,
    phi: float,
) -> float:
    """Restricted log likelihood of every host's values at drift sd ``d``, session sd ``s``."""
    total = 0.0
    for n, (_, t, y, var) in groups.items():
        r, w = _kernels(t, tau, phi)
        v = d * d * r + m * m * w
        v = v + np.eye(n) * (s * s) + var[:, :, None] * np.eye(n)
        chol = np.linalg.cholesky(v)
        rhs = np.stack([np.ones_like(y), y], axis=2)  # [G, n, 2]: solve for 1 and y at once
        z = np.linalg.solve(chol, rhs)
        z1, zy = z[..., 0], z[..., 1]
        q = np.sum(z1 * z1, axis=1)
        b = np.sum(z1 * zy, axis=1)
        quad = np.sum(zy * zy, axis=1) - b * b / q
        logdet = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        total += float(np.sum(-0.5 * (logdet + np.log(q) + quad)))
    return total


def _last_level(
    groups: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    hosts: int,
    d: float,
    s: float,
    tau: float,
    m: float,
    phi: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each host's level at its last session given its values (nan for a
    host not in ``groups``)."""
    mean = np.full(hosts, np.nan)
    var_out = np.full(hosts, np.nan)
    for n, (idx, t, y, var) in groups.items():
        r, w = _kernels(t, tau, phi)
        v = d * d * r + m * m * w + np.eye(n) * (s * s) + var[:, :, None] * np.eye(n)
        c = d * d * r[:, :, -1]  # [G, n]: cov of the values with the drift at the last one
        vinv_1 = np.linalg.solve(v, np.ones((t.shape[0], n, 1)))[..., 0]
        vinv_y = np.linalg.solve(v, y[..., None])[..., 0]
        vinv_c = np.linalg.solve(v, c[..., None])[..., 0]
        q = np.sum(vinv_1, axis=1)
        a_hat = np.sum(vinv_y, axis=1) / q
        k = 1.0 - np.sum(c * vinv_1, axis=1)
        mean[idx] = np.sum(c * vinv_y, axis=1) + k * a_hat
        var_out[idx] = k * k / q + d * d - np.sum(c * vinv_c, axis=1)
    return mean, var_out


def _market_sd(
    data: post.Data, days: np.ndarray, centre: np.ndarray, default: float, s: float, d: float
) -> tuple[float, bool]:
    """The market's sd from the weekly medians of host-centred residuals, if the history has
    `MARKET_MIN_WEEKS` weeks with `MARKET_MIN_HOSTS` hosts each (less what else moves a median
    of that week's sessions: their own effects, 1.57 s^2 / sessions, and their hosts' drift,
    1.57 d^2 / hosts), within a factor 4 of the default; else the default."""
    keep = ~data.censored & np.isfinite(days)
    if not np.any(keep):
        return default, False
    week = np.floor(days[keep] / 7.0).astype(np.int64)
    resid = data.y[keep] - centre[data.host[keep]]
    host = data.host[keep]
    medians, noise = [], []
    for w in np.unique(week):
        sel = week == w
        if np.unique(host[sel]).size >= MARKET_MIN_HOSTS:
            medians.append(float(np.median(resid[sel])))
            n_hosts = int(np.unique(host[sel]).size)
            noise.append(1.57 * (s * s / int(sel.sum()) + d * d / n_hosts))
    if len(medians) < MARKET_MIN_WEEKS:
        return default, False
    signal = float(np.var(medians, ddof=1)) - float(np.mean(noise))
    fitted = math.sqrt(max(signal, 0.0))
    return float(min(max(fitted, default / 4.0), default * 4.0)), True


def fit_time(
    data: post.Data,
    days: np.ndarray,
    centre: np.ndarray,
    drift_sd0: float,
    drift_days: float,
    market_sd0: float,
    market_weeks: float,
) -> TimeFit:
    """The fit in time of one tier and metric: ``data`` its observations (`posterior.Data`),
    ``days`` each observation's day from the market calendar's epoch (nan: not dated),
    ``centre`` each host's static posterior mean level; the drift's default sd and
    correlation time, the market's default sd and correlation time (weeks)."""
    phi = math.exp(-1.0 / market_weeks)
    groups = _groups(data, days, centre)
    used = sum(g[0].size for g in groups.values())
    hosts = data.hosts
    if used == 0:
        nan = np.full(hosts, np.nan)
        one = np.ones((1, 1))
        return TimeFit(
            drift_sd0,
            drift_days,
            1.0,
            market_sd0,
            False,
            np.zeros(hosts),
            nan,
            0,
            np.array([drift_sd0]),
            np.array([1.0]),
            one,
        )
    pooled = np.concatenate(
        [g[2].ravel() - np.repeat(centre[g[0]], g[2].shape[1]) for g in groups.values()]
    )
    s0 = max(float(np.std(pooled)), 1e-3)
    static_grid = s0 * np.exp(np.linspace(-S_SPAN, S_SPAN, N_GRID))
    static_ll = np.array([_reml(groups, 0.0, s, drift_days, 0.0, phi) for s in static_grid])
    s_static = float(static_grid[int(np.argmax(static_ll))])
    grid_d = drift_sd0 * np.exp(np.linspace(-3 * LOG_SD_DRIFT, 3 * LOG_SD_DRIFT, N_GRID))
    grid_s = s_static * np.exp(np.linspace(-S_SPAN, 0.3, N_GRID))
    prior = -0.5 * ((np.log(grid_d / drift_sd0) / LOG_SD_DRIFT) ** 2)

    def posterior(m: float) -> tuple[np.ndarray, float, float]:
        ll = np.empty((N_GRID, N_GRID))
        for i, d in enumerate(grid_d):
            for k, s in enumerate(grid_s):
                ll[i, k] = _reml(groups, float(d), float(s), drift_days, m, phi)
        logp = ll + prior[:, None]
        w = np.exp(logp - logp.max())
        w /= w.sum()
        d_hat = math.sqrt(float(np.sum(w.sum(axis=1) * grid_d**2)))
        s_hat = math.sqrt(float(np.sum(w.sum(axis=0) * grid_s**2)))
        return w, d_hat, s_hat

    # with the default market first; where the history can tell the market's sd, again
    # with the market it shows once the drift and sessions are taken out of the weeks
    w, d_hat, s_hat = posterior(market_sd0)
    market_sd, market_fitted = _market_sd(data, days, centre, market_sd0, s_hat, d_hat)
    if market_fitted:
        w, d_hat, s_hat = posterior(market_sd)
    level, level_var = _last_level(groups, hosts, d_hat, s_hat, drift_days, market_sd, phi)
    shift = np.where(np.isfinite(level), level - centre, 0.0)
    scale = float(min(1.0, max(0.2, s_hat / s_static)))
    return TimeFit(
        d_hat,
        drift_days,
        scale,
        market_sd,
        market_fitted,
        shift,
        level_var,
        used,
        grid_d,
        grid_s,
        w,
    )
