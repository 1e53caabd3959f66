"""The time layer: each session's shift of its log traffic, conversion, engagement and stay
from the host's drift and the market factor (`forecast.model.drift`), computed once per path
before its sessions, the same in both kernels.

* Drift: a stationary Ornstein-Uhlenbeck process per (path, influencer), standardized, read at
  the influencer's sessions in time order: the first ``X = z`` (or ``sqrt(1 - r^2) z`` when
  the host is anchored at its last fitted session, where it is 0), then ``X = r X_prev +
  sqrt(1 - r^2) z`` with ``r = exp(-gap / drift_days)`` (``FX_DRIFT_RHO``). The k-th session
  of an influencer draws the k-th innovations of the stream (seed, path, influencer,
  ``P_DRIFT``); traffic, conversion and engagement innovations are correlated as the cores.
* Market: `MARKET_SERIES` standardized AR(1) series over calendar weeks 0 .. `GRID_WEEKS`
  per path, built by midpoint refinement (an exact Gaussian bridge: the value at a grid point
  is one keyed normal, conditional on its two neighbours one level up), so a week's value is a
  pure function of (seed, path, week) whatever weeks a strategy spans, and every campaign of
  a report meets the same market. Series 0-2: mega hosts' traffic, conversion, engagement
  cores (mixed by the core Cholesky factor); 3-5: the other hosts'; 6: stay, shared; 7: the
  other hosts' own stay part (their stay is ``c * Y6 + sqrt(1 - c^2) * Y7``).
"""

from __future__ import annotations

import math

import numpy as np

from kernels import layout as L
from kernels.options import jit
from kernels.rng import derive, mix64, normal

#: Weeks of the market grid (2^13 weeks, 157 years from `forecast.model.calendar.EPOCH`).
GRID_WEEKS = 8192
MARKET_SERIES = 8


@jit
def market_range(
    mkey: np.uint64,
    lo: np.int64,
    hi: np.int64,
    phi: float,
    on: np.ndarray,
    out: np.ndarray,
    pos: np.ndarray,
    val: np.ndarray,
    pos2: np.ndarray,
    val2: np.ndarray,
) -> None:
    """``out[w - lo, j]`` = standardized series ``j`` (where ``on[j]``) at weeks ``lo .. hi``
    (0 <= lo <= hi <= `GRID_WEEKS`): a stationary AR(1) with lag-1 ``phi``. ``pos``/``val``
    and ``pos2``/``val2``: workspaces of at least ``hi - lo + 4`` rows."""
    n_series = out.shape[1]
    r = phi**GRID_WEEKS
    cr = math.sqrt(1.0 - r * r)
    keys = np.empty(n_series, dtype=np.uint64)
    for j in range(n_series):
        keys[j] = derive(mkey, j)
    pos[0] = 0
    pos[1] = GRID_WEEKS
    for j in range(n_series):
        if on[j]:
            k = keys[j]
            v0 = normal(k, 0)
            val[0, j] = v0
            val[1, j] = r * v0 + cr * normal(k, GRID_WEEKS)
    count = 2
    h = np.int64(GRID_WEEKS)
    while h > 1:
        half = h // 2
        rho = phi**half
        w = rho / (1.0 + rho * rho)
        sd = math.sqrt((1.0 - rho * rho) / (1.0 + rho * rho))
        a = (lo // half) * half
        b = -((-hi) // half) * half
        m = 0
        for i in range(count):
            p = pos[i]
            if a <= p <= b:
                pos2[m] = p
                for j in range(n_series):
                    val2[m, j] = val[i, j]
                m += 1
            if i + 1 < count:
                mid = p + half
                if a <= mid <= b:
                    pos2[m] = mid
                    for j in range(n_series):
                        if on[j]:
                            val2[m, j] = w * (val[i, j] + val[i + 1, j]) + sd * normal(keys[j], mid)
                    m += 1
        for i in range(m):
            pos[i] = pos2[i]
            for j in range(n_series):
                val[i, j] = val2[i, j]
        count = m
        h = half
    for i in range(count):
        p = pos[i]
        if lo <= p <= hi:
            for j in range(n_series):
                out[p - lo, j] = val[i, j] if on[j] else 0.0


@jit
def time_shifts(
    pkey: np.uint64,
    si: np.ndarray,
    fx: np.ndarray,
    ikey: np.ndarray,
    mkt: np.ndarray,
    xs: np.ndarray,
    market: np.ndarray,
    on: np.ndarray,
    pos: np.ndarray,
    val: np.ndarray,
    pos2: np.ndarray,
    val2: np.ndarray,
    shifts: np.ndarray,
) -> None:
    """Every session's shifts of its four log metrics on path ``pkey`` into ``shifts[S, 4]``
    (exactly 0 where drift and market are off). ``xs[S, 4]``: the drift's standardized
    values; ``market[W, MARKET_SERIES]``: the market's weeks ``MF_WEEK_LO .. MF_WEEK_HI``."""
    n = si.shape[0]
    st = L.FX_STRIDE
    l10 = mkt[L.MF_L10]
    l11 = mkt[L.MF_L11]
    l20 = mkt[L.MF_L20]
    l21 = mkt[L.MF_L21]
    l22 = mkt[L.MF_L22]
    lo = np.int64(mkt[L.MF_WEEK_LO])
    hi = np.int64(mkt[L.MF_WEEK_HI])
    any_on = False
    for j in range(MARKET_SERIES):
        if on[j]:
            any_on = True
    if any_on:
        market_range(
            derive(pkey, L.P_PATH_MARKET),
            lo,
            hi,
            mkt[L.MF_MARKET_PHI],
            on,
            market,
            pos,
            val,
            pos2,
            val2,
        )
    c = mkt[L.MF_STAY_CLASS_CORR]
    cc = math.sqrt(1.0 - c * c)
    for s in range(n):
        d0 = fx[s, L.FX_TRAFFIC * st + L.FX_DRIFT_SD]
        d1 = fx[s, L.FX_CONVERSION * st + L.FX_DRIFT_SD]
        d2 = fx[s, L.FX_ENGAGEMENT * st + L.FX_DRIFT_SD]
        d3 = fx[s, L.FX_STAY * st + L.FX_DRIFT_SD]
        x0 = 0.0
        x1 = 0.0
        x2 = 0.0
        x3 = 0.0
        if d0 > 0.0 or d1 > 0.0 or d2 > 0.0 or d3 > 0.0:
            dkey = derive(mix64(pkey ^ ikey[si[s, L.SI_INFLUENCER]]), L.P_DRIFT)
            k = 4 * si[s, L.SI_ORDINAL]
            g0 = normal(dkey, k)
            g1 = normal(dkey, k + 1)
            g2 = normal(dkey, k + 2)
            z0 = g0
            z1 = l10 * g0 + l11 * g1
            z2 = l20 * g0 + l21 * g1 + l22 * g2
            z3 = normal(dkey, k + 3)
            r = fx[s, L.FX_DRIFT_RHO]
            cr = math.sqrt(max(0.0, 1.0 - r * r))
            prev = si[s, L.SI_DRIFT_PREV]
            if prev >= 0:
                x0 = r * xs[prev, 0] + cr * z0
                x1 = r * xs[prev, 1] + cr * z1
                x2 = r * xs[prev, 2] + cr * z2
                x3 = r * xs[prev, 3] + cr * z3
            elif fx[s, L.FX_DRIFT_ANCHOR] > 0.0:
                x0 = cr * z0
                x1 = cr * z1
                x2 = cr * z2
                x3 = cr * z3
            else:
                x0 = z0
                x1 = z1
                x2 = z2
                x3 = z3
        xs[s, 0] = x0
        xs[s, 1] = x1
        xs[s, 2] = x2
        xs[s, 3] = x3
        shifts[s, 0] = d0 * x0
        shifts[s, 1] = d1 * x1
        shifts[s, 2] = d2 * x2
        shifts[s, 3] = d3 * x3
        m0 = fx[s, L.FX_TRAFFIC * st + L.FX_MARKET_SD]
        m1 = fx[s, L.FX_CONVERSION * st + L.FX_MARKET_SD]
        m2 = fx[s, L.FX_ENGAGEMENT * st + L.FX_MARKET_SD]
        m3 = fx[s, L.FX_STAY * st + L.FX_MARKET_SD]
        if m0 > 0.0 or m1 > 0.0 or m2 > 0.0 or m3 > 0.0:
            row = si[s, L.SI_WEEK] - lo
            b = 3 * si[s, L.SI_CLASS]
            y0 = market[row, b]
            y1 = market[row, b + 1]
            y2 = market[row, b + 2]
            ys = market[row, 6]
            if si[s, L.SI_CLASS] == 1:
                ys = c * ys + cc * market[row, 7]
            shifts[s, 0] += m0 * y0
            shifts[s, 1] += m1 * (l10 * y0 + l11 * y1)
            shifts[s, 2] += m2 * (l20 * y0 + l21 * y1 + l22 * y2)
            shifts[s, 3] += m3 * ys
