"""The cohort kernel: counts per exposure pattern and per identity class, never viewers.

Same model, same path and session keys, same output arrays as `kernels.viewer`; every
path-level output has the same distribution (the argument is in `forecast.engine.cohort_plan`), and
the traffic multiplier and engagement are even drawn from the same streams. Cost per path is
O(sessions x (patterns + segments x classes x chain length)), independent of the number of
viewers, so a session of 30 million viewers costs what one of 300 does.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from kernels import layout as L
from kernels.effects import session_effects
from kernels.engagement import engagement
from kernels.options import jit, pjit
from kernels.rng import derive, mix64
from kernels.samplers import binomial, poisson
from kernels.timeline import MARKET_SERIES, time_shifts
from kernels.viewer import BLOCKS_PER_THREAD, path_key, session_key


@jit
def poisson_hazard(j: np.int64, lam: float, cdf_before: float) -> float:
    """P(Y = j | Y >= j) for Y ~ Poisson(lam), j >= 1; ``cdf_before`` = P(Y <= j - 1).

    Below the mean the tail 1 - cdf is large and safe to subtract; above it the tail is
    summed as pmf(j) * (1 + lam/(j+1) + lam^2/((j+1)(j+2)) + ...), which never cancels."""
    if j > lam:
        total = 1.0
        term = 1.0
        i = np.int64(1)
        while True:
            term *= lam / (j + i)
            total += term
            i += 1
            if term < 1e-17 * total:
                break
        return 1.0 / total
    tail = 1.0 - cdf_before
    pj = math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1.0))
    if tail <= pj:
        return 1.0
    return pj / tail


@jit
def occupancy(key: np.uint64, k: np.int64, lam: float) -> tuple[np.int64, np.int64]:
    """``k`` identities each get an independent Poisson(lam) number of events: returns (how
    many got at least one, the total number of events), drawn exactly from their joint law.

    Who got any is binomial; the counts of those who did are zero-truncated Poisson, drawn as
    a multinomial over "exactly j events" by conditional binomials (j = 1, 2, ...), which
    stops once every identity is placed: a few steps when lam is small, about lam + 6 sqrt(lam)
    when it is large. Stream ``key`` is reserved (sub-key j for step j)."""
    if k <= 0 or lam <= 0.0:
        return np.int64(0), np.int64(0)
    hit = binomial(derive(key, 0), k, -math.expm1(-lam))
    rem = hit
    total = np.int64(0)
    cdf = math.exp(-lam)
    j = np.int64(1)
    while rem > 0:
        h = poisson_hazard(j, lam, cdf)
        n_j = binomial(derive(key, j), rem, h)
        total += j * n_j
        rem -= n_j
        cdf += math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1.0))
        j += 1
    return hit, total


@jit
def order_outcomes(
    q: np.int64,
    key: np.uint64,
    orders: np.int64,
    qf: np.ndarray,
    qi: np.ndarray,
    tally: np.ndarray,
    cash: np.ndarray,
) -> None:
    """Units, returns and voucher verification of ``orders`` orders of session-product ``q``.

    An order has 1 + Poisson(extra) units, so k orders have k + Poisson(k extra); orders kept
    and orders returned (or vouchers verified and not) are a binomial split, each with its own
    units. ``tally``: orders, units, returned orders, returned units, vouchers sold, verified;
    ``cash``: gmv, refunds, cost, verified revenue (added to)."""
    if orders <= 0:
        return
    extra = qf[q, L.QF_EXTRA]
    price = qf[q, L.QF_PRICE]
    if qi[q, L.QI_VOUCHER] == 1:
        keep_p = qf[q, L.QF_VERIFY] * -math.expm1(-qf[q, L.QF_VALIDITY] / qf[q, L.QF_DELAY])
    else:
        keep_p = 1.0 - qf[q, L.QF_RETURN]
    kept = binomial(derive(key, 0), orders, keep_p)
    lost = orders - kept
    u_kept = kept + poisson(derive(key, 1), extra * kept)
    u_lost = lost + poisson(derive(key, 2), extra * lost)
    units = u_kept + u_lost
    tally[0] += orders
    tally[1] += units
    tally[2] += lost
    tally[3] += u_lost
    cash[0] += units * price
    cash[1] += u_lost * price
    cash[2] += u_kept * qf[q, L.QF_COST]
    if qi[q, L.QI_VOUCHER] == 1:
        tally[4] += units
        tally[5] += u_kept
        cash[3] += u_kept * price


@jit
def carried_product(
    s: np.int64,
    kc: np.uint64,
    traffic: float,
    conv: float,
    lam_q: float,
    sf: np.ndarray,
    si: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    mkt: np.ndarray,
    sc: np.ndarray,
    seg: np.ndarray,
    seg_share: np.ndarray,
    pool_seg: np.ndarray,
    seen_day: np.ndarray,
    state: np.ndarray,
    nxt: np.ndarray,
    out: np.ndarray,
) -> None:
    """Exposures and purchases of the session's one product with carried state, per segment
    and class of identity, and the class changes they cause.

    ``out``: exposures, orders, saturated exposures, penalized exposures (written)."""
    q = si[s, L.SI_Q_START] + sc[s, L.SC_STATE_Q]
    col = qi[q, L.QI_STATE_COL]
    p_fresh = min(qf[q, L.QF_P] * conv, 1.0)
    is_mega = si[s, L.SI_IS_MEGA] == 1
    slot = sc[s, L.SC_SEEN_SLOT]
    writes = sc[s, L.SC_WRITES_BOUGHT] == 1 or slot > 0
    tau = mkt[L.MF_TRUST_PENALTY]
    fade = mkt[L.MF_TRUST_FADE_DAYS]
    keep_bought = 1.0 - mkt[L.MF_SATURATION]
    day = sf[s, L.SF_DAY]
    width = seen_day.shape[1]
    n_classes = state.shape[2]
    kseg = derive(kc, 1)
    exposures = np.int64(0)
    orders = np.int64(0)
    saturated = np.int64(0)
    penalized = np.int64(0)
    untracked = 0.0
    for side in range(2):
        pool = np.int64(0) if side == 0 else si[s, L.SI_OWN_POOL]
        share = sf[s, L.SF_SHARED] if side == 0 else 1.0 - sf[s, L.SF_SHARED]
        if share <= 0.0:
            continue
        if pool_seg[pool, 1] == 0:
            untracked += share
            continue
        for g in range(pool_seg[pool, 0], pool_seg[pool, 0] + pool_seg[pool, 1]):
            a = traffic * lam_q * share * seg_share[g] / seg[g, L.SG_SIZE]  # per identity
            if a <= 0.0:
                continue
            nxt[col, g, :] = state[col, g, :]
            for c in range(n_classes):
                k = state[col, g, c]
                if k == 0:
                    continue
                was_bought = c // width
                seen = c % width
                p = p_fresh
                if was_bought == 1:
                    p *= keep_bought
                if is_mega and seen > 0 and tau > 0.0:
                    p *= 1.0 - tau * math.exp(-(day - seen_day[col, seen]) / fade)
                key = derive(derive(kseg, g), c)
                if not writes:
                    x = poisson(derive(key, 0), k * a)
                    b = binomial(derive(key, 1), x, p)
                else:
                    # identities that bought (and how often), then the exposures that did not
                    # buy: of the buyers, and of the rest (who among them saw it, if recorded)
                    d_b, b = occupancy(derive(key, 2), k, a * p)
                    r_b = poisson(derive(key, 3), d_b * a * (1.0 - p))
                    if slot > 0:
                        d_r, r_r = occupancy(derive(key, 4), k - d_b, a * (1.0 - p))
                    else:
                        d_r = np.int64(0)
                        r_r = poisson(derive(key, 5), (k - d_b) * a * (1.0 - p))
                    x = b + r_b + r_r
                    to_seen = slot if slot > 0 else seen
                    nxt[col, g, c] -= d_b + d_r
                    nxt[col, g, width + to_seen] += d_b
                    nxt[col, g, was_bought * width + to_seen] += d_r
                exposures += x
                orders += b
                if was_bought == 1:
                    saturated += x
                if is_mega and seen > 0 and tau > 0.0:
                    penalized += x
            state[col, g, :] = nxt[col, g, :]
    if untracked > 0.0:
        x = poisson(derive(kc, 5), traffic * lam_q * untracked)
        exposures += x
        orders += binomial(derive(kc, 6), x, p_fresh)
    out[0] = exposures
    out[1] = orders
    out[2] = saturated
    out[3] = penalized


@jit
def cohort_session(
    s: np.int64,
    pkey: np.uint64,
    skey: np.uint64,
    sf: np.ndarray,
    si: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    qkey: np.ndarray,
    mkt: np.ndarray,
    pat: np.ndarray,
    pat_rate: np.ndarray,
    sc: np.ndarray,
    seg: np.ndarray,
    seg_share: np.ndarray,
    pool_seg: np.ndarray,
    seen_day: np.ndarray,
    state: np.ndarray,
    nxt: np.ndarray,
    expo: np.ndarray,
    counts: np.ndarray,
    money: np.ndarray,
    fx: np.ndarray,
    ikey: np.ndarray,
    stay_mean: np.ndarray,
    effects: np.ndarray,
    shifts: np.ndarray,
) -> None:
    """Session ``s`` of one path by counts; carried state in ``state`` is read and updated.
    ``pat_rate[node]`` holds the pattern rates of the session's stay nodes."""
    session_effects(pkey, skey, s, sf, si, fx, ikey, mkt, shifts, effects)
    traffic = effects[0]
    conv = effects[1]
    node = np.int64(effects[3])
    rates = pat_rate[node]
    kc = derive(skey, L.P_COHORT)
    q0 = si[s, L.SI_Q_START]
    nq = si[s, L.SI_Q_END] - q0
    p0 = sc[s, L.SC_PAT_START]
    p1 = sc[s, L.SC_PAT_END]
    sq = sc[s, L.SC_STATE_Q]
    carried = np.zeros(4, dtype=np.int64)
    lam_q = 0.0
    last = np.int64(-1)
    if sq >= 0:
        for p in range(p0, p1):
            if pat[p, L.PT_LO] <= sq < pat[p, L.PT_HI]:
                lam_q += rates[p]
                last = np.int64(p)
        carried_product(
            s,
            kc,
            traffic,
            conv,
            lam_q,
            sf,
            si,
            qf,
            qi,
            mkt,
            sc,
            seg,
            seg_share,
            pool_seg,
            seen_day,
            state,
            nxt,
            carried,
        )
    expo[: nq + 1] = 0
    views = np.int64(0)
    kpat = derive(kc, 0)
    ksplit = derive(kc, 2)
    rem = carried[0]
    mass = lam_q
    for p in range(p0, p1):
        lo = pat[p, L.PT_LO]
        hi = pat[p, L.PT_HI]
        if sq >= 0 and lo <= sq < hi:
            # the carried product's exposures, split over the patterns that include it
            if p == last:
                n = np.int64(rem)
            else:
                share = rates[p] / mass if mass > 0.0 else 1.0
                n = binomial(derive(ksplit, p - p0), rem, share if share < 1.0 else 1.0)
            rem -= n
            mass -= rates[p]
        else:
            n = poisson(derive(kpat, p - p0), traffic * rates[p])
        views += n
        expo[lo] += n
        expo[hi] -= n
    tally = np.zeros(6, dtype=np.int64)
    cash = np.zeros(4, dtype=np.float64)
    korder = derive(kc, 3)
    kout = derive(kc, 4)
    exposures = np.int64(0)
    running = np.int64(0)
    for j in range(nq):
        running += expo[j]
        exposures += running
        q = q0 + j
        if j == sq:
            orders = carried[1]
        else:
            orders = binomial(mix64(korder ^ qkey[q]), running, min(qf[q, L.QF_P] * conv, 1.0))
        order_outcomes(q, mix64(kout ^ qkey[q]), orders, qf, qi, tally, cash)
    counts[s, L.VIEWS] = views
    counts[s, L.EXPOSURES] = exposures
    counts[s, L.PENALIZED] = carried[3]
    counts[s, L.SATURATED] = carried[2]
    counts[s, L.ORDERS] = tally[0]
    counts[s, L.UNITS] = tally[1]
    counts[s, L.RETURNED_ORDERS] = tally[2]
    counts[s, L.RETURNED_UNITS] = tally[3]
    counts[s, L.VOUCHERS_SOLD] = tally[4]
    counts[s, L.VOUCHERS_VERIFIED] = tally[5]
    money[s, L.GMV] = cash[0]
    money[s, L.RETURNS] = cash[1]
    money[s, L.COST] = cash[2]
    money[s, L.VERIFIED_REVENUE] = cash[3]
    money[s, L.TRAFFIC] = traffic
    engagement(s, skey, sf, views, stay_mean[s, node], effects[2], counts, money)


@pjit
def cohort_paths(
    seed: np.uint64,
    first_path: np.int64,
    n_paths: np.int64,
    skeys: np.ndarray,
    sf: np.ndarray,
    si: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    qkey: np.ndarray,
    mkt: np.ndarray,
    pat: np.ndarray,
    pat_rate: np.ndarray,
    sc: np.ndarray,
    seg: np.ndarray,
    seg_share: np.ndarray,
    pool_seg: np.ndarray,
    seen_day: np.ndarray,
    n_classes: np.int64,
    max_products: np.int64,
    n_blocks: np.int64,
    counts: np.ndarray,
    money: np.ndarray,
    fx: np.ndarray,
    ikey: np.ndarray,
    stay_mean: np.ndarray,
    market_on: np.ndarray,
    stop: np.ndarray,
) -> None:
    """Paths ``first_path .. first_path + n_paths - 1`` into counts/money[path - first], as
    `kernels.viewer.simulate_paths` (blocks in parallel, state reset per path, the call
    ended early once ``stop[0]`` is set)."""
    n_sessions = sf.shape[0]
    n_cols = seen_day.shape[0]
    n_seg = seg.shape[0]
    blocks = np.int64(n_paths if n_blocks > n_paths else n_blocks)
    if blocks < 1:
        blocks = np.int64(1)
    for blk in numba.prange(blocks):
        lo = (blk * n_paths) // blocks
        hi = ((blk + 1) * n_paths) // blocks
        state = np.zeros((n_cols, n_seg, n_classes), dtype=np.int64)
        nxt = np.zeros((n_cols, n_seg, n_classes), dtype=np.int64)
        expo = np.zeros(max_products + 1, dtype=np.int64)
        effects = np.zeros(4, dtype=np.float64)
        shifts = np.zeros((n_sessions, 4), dtype=np.float64)
        xs = np.zeros((n_sessions, 4), dtype=np.float64)
        n_weeks = np.int64(mkt[L.MF_WEEK_HI] - mkt[L.MF_WEEK_LO]) + 1
        market = np.zeros((n_weeks, MARKET_SERIES), dtype=np.float64)
        pos = np.zeros(n_weeks + 4, dtype=np.int64)
        val = np.zeros((n_weeks + 4, MARKET_SERIES), dtype=np.float64)
        pos2 = np.zeros(n_weeks + 4, dtype=np.int64)
        val2 = np.zeros((n_weeks + 4, MARKET_SERIES), dtype=np.float64)
        for i in range(lo, hi):
            if stop[0] != 0:
                break
            state[:] = 0
            for g in range(n_seg):
                state[:, g, 0] = seg[g, L.SG_SIZE]
            pkey = path_key(seed, first_path + i)
            time_shifts(
                pkey, si, fx, ikey, mkt, xs, market, market_on, pos, val, pos2, val2, shifts
            )
            for s in range(n_sessions):
                cohort_session(
                    s,
                    pkey,
                    session_key(pkey, skeys[s]),
                    sf,
                    si,
                    qf,
                    qi,
                    qkey,
                    mkt,
                    pat,
                    pat_rate,
                    sc,
                    seg,
                    seg_share,
                    pool_seg,
                    seen_day,
                    state,
                    nxt,
                    expo,
                    counts[i],
                    money[i],
                    fx,
                    ikey,
                    stay_mean,
                    effects,
                    shifts,
                )


def run_cohort(
    compiled: Any,
    plan: Any,
    seed: int,
    first_path: int,
    counts: np.ndarray,
    money: np.ndarray,
    stop: np.ndarray | None = None,
) -> None:
    """Fill ``counts``/``money`` for a compiled strategy and its `forecast.engine.cohort_plan`
    plan, on the current numba threads (dynamic scheduling, as `kernels.viewer.run_paths`)."""
    c = compiled
    with numba.parallel_chunksize(1):
        cohort_paths(
            np.uint64(seed),
            first_path,
            counts.shape[0],
            c.skeys,
            c.sf,
            c.si,
            c.qf,
            c.qi,
            c.qkey,
            c.mkt,
            plan.pat,
            plan.pat_rate,
            plan.sc,
            plan.seg,
            plan.seg_share,
            plan.pool_seg,
            plan.seen_day,
            plan.n_classes,
            plan.max_products,
            BLOCKS_PER_THREAD * numba.get_num_threads(),
            counts,
            money,
            c.fx,
            c.ikey,
            c.stay_mean,
            c.market_on,
            np.zeros(1, dtype=np.int64) if stop is None else stop,
        )
