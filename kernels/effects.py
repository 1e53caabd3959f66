"""Influencer and session effects: the multipliers a session's viewers share, drawn once per
path and session (`session_effects`), the same in both kernels.

Each metric m (traffic, conversion, engagement, stay) gets log multiplier

    host_sd[m] * H[m]  +  sd[m] * C[m]  +  J[m]  -  median[m]

H: the host's effect, normal, from the path's influencer key (seed, path, influencer), so
every session of that influencer on the path shares it; C: the session's core, normal, the
traffic core being the draw the model always had (``P_TRAFFIC``); the cores of traffic,
conversion and engagement are correlated (Cholesky factor in ``mkt``), in both layers; J: a
flop or a hit (`forecast.model.spread`); median: the session law's median, so the host's
level is its median session. Every effect with all its parameters zero is exactly 1, and the
traffic multiplier is then exactly the one drawn before the effects existed.

Stay is rounded to the nearest of the session's nodes (`L.FX_STAY_LO` + k * step): the cohort
kernel's exposure rates are prepared once per node, so both kernels use the same discrete law.
"""

from __future__ import annotations

import math

import numpy as np

from kernels import layout as L
from kernels.options import jit
from kernels.rng import derive, mix64, normal, uniform


@jit
def jump(key: np.uint64, m: np.int64, fx: np.ndarray, s: np.int64) -> float:
    """Metric ``m``'s flop (< 0) or hit (> 0) of session ``s``, or 0, from stream ``key``."""
    base = m * L.FX_STRIDE
    flop = fx[s, base + L.FX_FLOP_P]
    hit = fx[s, base + L.FX_HIT_P]
    if flop <= 0.0 and hit <= 0.0:
        return 0.0
    u = uniform(key, 2 * m)
    if u < flop:
        return fx[s, base + L.FX_FLOP_M] * math.log(uniform(key, 2 * m + 1))
    if u < flop + hit:
        return -fx[s, base + L.FX_HIT_M] * math.log(uniform(key, 2 * m + 1))
    return 0.0


@jit
def log_effect(
    fx: np.ndarray,
    s: np.int64,
    m: np.int64,
    host: float,
    core: float,
    key: np.uint64,
    shift: float,
) -> float:
    """Metric ``m``'s log multiplier of session ``s``: host sd x ``host`` + sd x ``core`` +
    its jump - its median + its time layer's ``shift`` (drift and market)."""
    b = m * L.FX_STRIDE
    return (
        fx[s, b + L.FX_HOST_SD] * host
        + fx[s, b + L.FX_SD] * core
        + jump(key, m, fx, s)
        - fx[s, b + L.FX_MEDIAN]
        + shift
    )


@jit
def session_effects(
    pkey: np.uint64,
    skey: np.uint64,
    s: np.int64,
    sf: np.ndarray,
    si: np.ndarray,
    fx: np.ndarray,
    ikey: np.ndarray,
    mkt: np.ndarray,
    shifts: np.ndarray,
    out: np.ndarray,
) -> None:
    """Session ``s``'s multipliers into ``out``: traffic, conversion, engagement, and the
    index of its stay node (as a float). ``shifts[s]``: its time layer's log shifts
    (`kernels.timeline.time_shifts`), added last, so zero shifts leave every bit as before."""
    l10 = mkt[L.MF_L10]
    l11 = mkt[L.MF_L11]
    l20 = mkt[L.MF_L20]
    l21 = mkt[L.MF_L21]
    l22 = mkt[L.MF_L22]
    st = L.FX_STRIDE
    # the host: one draw per path and influencer
    h0 = 0.0
    h1 = 0.0
    h2 = 0.0
    h3 = 0.0
    if (
        fx[s, L.FX_TRAFFIC * st + L.FX_HOST_SD] > 0.0
        or fx[s, L.FX_CONVERSION * st + L.FX_HOST_SD] > 0.0
        or fx[s, L.FX_ENGAGEMENT * st + L.FX_HOST_SD] > 0.0
        or fx[s, L.FX_STAY * st + L.FX_HOST_SD] > 0.0
    ):
        hkey = derive(mix64(pkey ^ ikey[si[s, L.SI_INFLUENCER]]), L.P_HOST)
        g0 = normal(hkey, 0)
        g1 = normal(hkey, 1)
        g2 = normal(hkey, 2)
        h0 = g0
        h1 = l10 * g0 + l11 * g1
        h2 = l20 * g0 + l21 * g1 + l22 * g2
        h3 = normal(hkey, 3)
    # the session: the traffic core is the model's original draw
    zt = normal(derive(skey, L.P_TRAFFIC), 0)
    keff = derive(skey, L.P_EFFECTS)
    kjump = derive(keff, 1)
    e1 = normal(keff, 0)
    e2 = normal(keff, 1)
    c1 = l10 * zt + l11 * e1
    c2 = l20 * zt + l21 * e1 + l22 * e2
    c3 = normal(keff, 2)
    t = L.FX_TRAFFIC * st
    extra = (
        fx[s, t + L.FX_HOST_SD] * h0
        + jump(kjump, L.FX_TRAFFIC, fx, s)
        - fx[s, t + L.FX_MEDIAN]
        + shifts[s, 0]
    )
    out[0] = math.exp(sf[s, L.SF_SIGMA] * zt + extra)
    out[1] = math.exp(log_effect(fx, s, L.FX_CONVERSION, h1, c1, kjump, shifts[s, 1]))
    out[2] = math.exp(log_effect(fx, s, L.FX_ENGAGEMENT, h2, c2, kjump, shifts[s, 2]))
    n_nodes = np.int64(fx[s, L.FX_STAY_NODES])
    node = np.int64(0)
    if n_nodes > 1:
        log_stay = log_effect(fx, s, L.FX_STAY, h3, c3, kjump, shifts[s, 3])
        k = math.floor((log_stay - fx[s, L.FX_STAY_LO]) / fx[s, L.FX_STAY_STEP] + 0.5)
        node = np.int64(min(max(k, 0.0), n_nodes - 1.0))
    out[3] = float(node)
