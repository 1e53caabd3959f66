"""The plain-NumPy peer: the per-viewer model written the way a competent quant would without
numba, to race the per-viewer kernel fairly.

It simulates the same model as `kernels.viewer` from the same compiled arrays
(`forecast.engine.compile.Compiled`: arrival bins, slots, purchase probabilities, pools), so
the race is about simulating arrivals, not about the set-up. Within a session it is vectorised
over arrivals: Poisson counts per bin, arrival times and log-logistic stays for all arrivals at
once, one boolean mask per product for the exposed, one uniform per exposure for the
purchase, then returns, vouchers and carried state (trust, saturation) by fancy indexing.
The influencer and session effects (`kernels.effects`) are drawn from the compiled
parameters with the same law, by its own generator.
Paths and sessions are a Python loop, as they must be: carried state makes sessions
sequential, and a path's arrivals (millions for a mega session) fill memory by themselves.

Randomness is NumPy's ``default_rng`` (PCG64), so paths differ from the kernel's, draw for
draw; ``tests/engine/test_numpy_peer.py`` checks that every outcome has the kernel's distribution.

Within a session every read of carried state sees it as it stood before the session (the
kernel ignores entries it wrote itself), so arrivals are independent given that state and
vectorising over them is exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kernels import layout as L


def _identities(
    rng: np.random.Generator, n: int, size: int, core: int, core_arrivals: float
) -> np.ndarray:
    """Identity in a pool of ``size`` people for each of ``n`` arrivals: with probability
    ``core_arrivals`` uniform among the ``core`` heavy watchers, else among the rest."""
    if core >= size:
        return rng.integers(0, size, n)
    heavy = rng.random(n) < core_arrivals
    out = rng.integers(core, size, n)
    out[heavy] = rng.integers(0, core, int(heavy.sum()))
    return out


def _cores(rng: np.random.Generator, mkt: np.ndarray) -> np.ndarray:
    """Four normals: traffic, conversion, engagement correlated (the market's Cholesky
    factor), stay independent."""
    g = rng.standard_normal(4)
    return np.array(
        [
            g[0],
            mkt[L.MF_L10] * g[0] + mkt[L.MF_L11] * g[1],
            mkt[L.MF_L20] * g[0] + mkt[L.MF_L21] * g[1] + mkt[L.MF_L22] * g[2],
            g[3],
        ]
    )


def _effects(
    c: Any, s: int, rng: np.random.Generator, host: np.ndarray
) -> tuple[float, float, float, int]:
    """Session ``s``'s traffic, conversion and engagement multipliers and stay node, from the
    compiled effect parameters (`kernels.layout` FX_ columns) and the path's host draw."""
    fx = c.fx[s]
    core = _cores(rng, c.mkt)
    core[0] *= c.sf[s, L.SF_SIGMA]
    logs = np.empty(4)
    for m in range(4):
        b = m * L.FX_STRIDE
        sd = 1.0 if m == 0 else fx[b + L.FX_SD]
        u = rng.random()
        size = rng.exponential()
        jump = 0.0
        if u < fx[b + L.FX_FLOP_P]:
            jump = -fx[b + L.FX_FLOP_M] * size
        elif u < fx[b + L.FX_FLOP_P] + fx[b + L.FX_HIT_P]:
            jump = fx[b + L.FX_HIT_M] * size
        logs[m] = fx[b + L.FX_HOST_SD] * host[m] + sd * core[m] + jump - fx[b + L.FX_MEDIAN]
    nodes = int(fx[L.FX_STAY_NODES])
    k = np.floor((logs[3] - fx[L.FX_STAY_LO]) / fx[L.FX_STAY_STEP] + 0.5)
    node = int(min(max(k, 0), nodes - 1)) if nodes > 1 else 0
    return float(np.exp(logs[0])), float(np.exp(logs[1])), float(np.exp(logs[2])), node


def simulate(compiled: Any, n_paths: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, money)`` of ``n_paths`` paths, laid out as the kernel's outputs:
    int64[paths, sessions, N_COUNTS] and float64[paths, sessions, N_MONEY]."""
    c = compiled
    rng = np.random.default_rng(seed)
    n_s = c.n_sessions
    counts = np.zeros((n_paths, n_s, L.N_COUNTS), dtype=np.int64)
    money = np.zeros((n_paths, n_s, L.N_MONEY))
    small_seen = np.empty((c.state_rows, c.state_cols), dtype=np.int16)
    bought = np.empty((c.state_rows, c.state_cols), dtype=np.int16)
    for i in range(n_paths):
        small_seen.fill(-1)
        bought.fill(-1)
        hosts = [_cores(rng, c.mkt) for _ in range(c.ikey.size)]
        for s in range(n_s):
            host = hosts[c.si[s, L.SI_INFLUENCER]]
            _session(c, s, rng, host, small_seen, bought, counts[i, s], money[i, s])
    return counts, money


def _session(
    c: Any,
    s: int,
    rng: np.random.Generator,
    host: np.ndarray,
    small_seen: np.ndarray,
    bought: np.ndarray,
    counts: np.ndarray,
    money: np.ndarray,
) -> None:
    """One session of one path into ``counts``/``money`` (rows of the output arrays)."""
    sf, si, qf, qi, pools, mkt = c.sf[s], c.si[s], c.qf, c.qi, c.pools, c.mkt
    hours = sf[L.SF_HOURS]
    traffic, conv, lift, node = _effects(c, s, rng, host)
    bins = c.bins[si[L.SI_BIN_START] : si[L.SI_BIN_END]]
    per_bin = rng.poisson(traffic * bins[:, L.BF_RATE])
    n = int(per_bin.sum())
    t = np.repeat(bins[:, L.BF_T0], per_bin)
    t += np.repeat(bins[:, L.BF_WIDTH], per_bin) * rng.random(n)
    u = rng.random(n)
    end = u / (1.0 - u)
    np.power(end, 1.0 / sf[L.SF_DWELL_SHAPE], out=end)
    end *= sf[L.SF_DWELL_SCALE] * c.stay_mult[s, node]
    end += t
    np.minimum(end, hours, out=end)

    # identities (rows of carried state), only where some pool is carried across sessions
    own = si[L.SI_OWN_POOL]
    psi = mkt[L.MF_CORE_ARRIVALS]
    row = None
    if pools[0, L.PI_ROW0] >= 0 or pools[own, L.PI_ROW0] >= 0:
        row = np.full(n, -1, dtype=np.int64)
        from_shared = rng.random(n) < sf[L.SF_SHARED]
        for pool, mask in ((0, from_shared), (own, ~from_shared)):
            if pools[pool, L.PI_ROW0] >= 0:
                size, core = pools[pool, L.PI_SIZE], pools[pool, L.PI_CORE]
                ids = _identities(rng, int(mask.sum()), size, core, psi)
                row[mask] = pools[pool, L.PI_ROW0] + ids

    is_mega = si[L.SI_IS_MEGA] == 1
    tau, fade = mkt[L.MF_TRUST_PENALTY], mkt[L.MF_TRUST_FADE_DAYS]
    keep_bought = 1.0 - mkt[L.MF_SATURATION]
    tot = dict.fromkeys(("exp", "pen", "sat", "ord", "units", "rord", "runits", "vs", "vv"), 0)
    gmv = refunds = cost = verified = 0.0
    for q in range(si[L.SI_Q_START], si[L.SI_Q_END]):
        exposed = np.flatnonzero((end > qf[q, L.QF_START]) & (t < qf[q, L.QF_END]))
        m = exposed.size
        tot["exp"] += m
        p = np.full(m, min(qf[q, L.QF_P] * conv, 1.0))
        col = qi[q, L.QI_STATE_COL]
        rows = None
        if row is not None and col >= 0:
            r = row[exposed]
            tracked = r >= 0
            rows = r[tracked]
            first = bought[rows, col]
            sat = (first >= 0) & (first < s)
            p[np.flatnonzero(tracked)[sat]] *= keep_bought
            tot["sat"] += int(sat.sum())
            if is_mega:
                e = small_seen[rows, col].astype(np.int64)
                pen = (e >= 0) & (e < s) & (tau > 0.0)
                days = c.sf[e[pen], L.SF_DAY]
                factor = 1.0 - tau * np.exp(-(sf[L.SF_DAY] - days) / fade)
                p[np.flatnonzero(tracked)[pen]] *= factor
                tot["pen"] += int(pen.sum())
            else:
                small_seen[rows, col] = s
        buys = rng.random(m) < p
        k = 1 + rng.poisson(qf[q, L.QF_EXTRA], int(buys.sum()))
        value = k * qf[q, L.QF_PRICE]
        tot["ord"] += k.size
        tot["units"] += int(k.sum())
        gmv += float(value.sum())
        if qi[q, L.QI_VOUCHER] == 1:
            intends = rng.random(k.size) < qf[q, L.QF_VERIFY]
            delay = rng.exponential(qf[q, L.QF_DELAY], k.size)
            ok = intends & (delay <= qf[q, L.QF_VALIDITY])
            tot["vs"] += int(k.sum())
            tot["vv"] += int(k[ok].sum())
            verified += float(value[ok].sum())
            cost += float(k[ok].sum()) * qf[q, L.QF_COST]
            back = ~ok
        else:
            back = rng.random(k.size) < qf[q, L.QF_RETURN]
            cost += float(k[~back].sum()) * qf[q, L.QF_COST]
        tot["rord"] += int(back.sum())
        tot["runits"] += int(k[back].sum())
        refunds += float(value[back].sum())
        if row is not None and rows is not None:
            buyer_rows = row[exposed[buys]]
            buyer_rows = buyer_rows[buyer_rows >= 0]
            fresh = buyer_rows[bought[buyer_rows, col] < 0]
            bought[fresh, col] = s

    counts[L.VIEWS] = n
    counts[L.EXPOSURES] = tot["exp"]
    counts[L.PENALIZED] = tot["pen"]
    counts[L.SATURATED] = tot["sat"]
    counts[L.ORDERS] = tot["ord"]
    counts[L.UNITS] = tot["units"]
    counts[L.RETURNED_ORDERS] = tot["rord"]
    counts[L.RETURNED_UNITS] = tot["runits"]
    counts[L.VOUCHERS_SOLD] = tot["vs"]
    counts[L.VOUCHERS_VERIFIED] = tot["vv"]
    # engagement: Poisson in the watch hours credited to the arrivals, gamma gift values
    watch = n * c.stay_mean[s, node]
    counts[L.LIKES] = rng.poisson(sf[L.SF_LIKE_RATE] * watch * lift)
    counts[L.COMMENTS] = rng.poisson(sf[L.SF_COMMENT_RATE] * watch * lift)
    gifts = int(rng.poisson(sf[L.SF_GIFT_RATE] * watch * lift))
    counts[L.GIFTS] = gifts
    cv2 = sf[L.SF_GIFT_CV2]
    if cv2 > 0.0 and gifts > 0:
        money[L.GIFT_VALUE] = rng.gamma(gifts / cv2, sf[L.SF_GIFT_MEAN] * cv2)
    else:
        money[L.GIFT_VALUE] = gifts * sf[L.SF_GIFT_MEAN]
    money[L.WATCH_HOURS] = watch
    money[L.GMV] = gmv
    money[L.RETURNS] = refunds
    money[L.COST] = cost
    money[L.TRAFFIC] = traffic
    money[L.VERIFIED_REVENUE] = verified
