"""The per-viewer kernel: every arrival of every session of every path is simulated.

Parallel over paths (``prange`` over blocks of paths, each block with its own carried-state
workspace). A path's result depends only on (seed, path index, compiled model): never on the
thread that ran it, the block it fell in, or how many paths were asked for.
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
from kernels.rng import derive, mix64, uniform
from kernels.samplers import loglogistic, poisson, poisson_inversion
from kernels.timeline import MARKET_SERIES, time_shifts

#: Blocks of paths per thread: enough for dynamic scheduling to balance uneven paths.
BLOCKS_PER_THREAD = 8


@jit
def path_key(seed: np.uint64, path: np.int64) -> np.uint64:
    """Root key of one Monte Carlo path."""
    return derive(mix64(seed ^ np.uint64(0x5EED5EED5EED5EED)), path)


@jit
def session_key(pkey: np.uint64, skey: np.uint64) -> np.uint64:
    """Key of a session within a path; ``skey`` hashes the session's identity, not its index."""
    return mix64(pkey ^ mix64(skey))


@jit
def identity(u: float, size: np.int64, core: np.int64, core_arrivals: float) -> np.int64:
    """Identity in a pool for a uniform ``u``: with probability ``core_arrivals`` uniform among
    the ``core`` heavy watchers (identities 0 .. core-1), otherwise uniform among the rest."""
    if core >= size:
        i = np.int64(size * u)
    elif u < core_arrivals:
        i = np.int64(core * (u / core_arrivals))
        if i >= core:
            i = core - 1
    else:
        i = core + np.int64((size - core) * ((u - core_arrivals) / (1.0 - core_arrivals)))
    if i >= size:
        i = size - 1
    return i


@jit
def simulate_session(
    s: np.int64,
    pkey: np.uint64,
    skey: np.uint64,
    sf: np.ndarray,
    si: np.ndarray,
    bins: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    qkey: np.ndarray,
    pools: np.ndarray,
    mkt: np.ndarray,
    small_seen: np.ndarray,
    bought: np.ndarray,
    counts: np.ndarray,
    money: np.ndarray,
    fx: np.ndarray,
    ikey: np.ndarray,
    stay_mult: np.ndarray,
    stay_mean: np.ndarray,
    effects: np.ndarray,
    shifts: np.ndarray,
    stop: np.ndarray,
) -> None:
    """Simulate session ``s`` of one path, reading and updating its carried state; returns
    early (with partial counts, which the caller discards) once ``stop[0]`` is set.

    State is read as it stood before this session: entries this session writes carry its own
    index ``s`` and are ignored by reads, which accept only indices < s.
    """
    day = sf[s, L.SF_DAY]
    hours = sf[s, L.SF_HOURS]
    shared = sf[s, L.SF_SHARED]
    dscale = sf[s, L.SF_DWELL_SCALE]
    inv_shape = 1.0 / sf[s, L.SF_DWELL_SHAPE]
    is_mega = si[s, L.SI_IS_MEGA] == 1
    own = si[s, L.SI_OWN_POOL]
    q0 = si[s, L.SI_Q_START]
    q1 = si[s, L.SI_Q_END]
    tau = mkt[L.MF_TRUST_PENALTY]
    fade = mkt[L.MF_TRUST_FADE_DAYS]
    keep_bought = 1.0 - mkt[L.MF_SATURATION]
    psi = mkt[L.MF_CORE_ARRIVALS]
    shared_row0 = pools[0, L.PI_ROW0]
    own_row0 = pools[own, L.PI_ROW0]
    shared_size = pools[0, L.PI_SIZE]
    own_size = pools[own, L.PI_SIZE]
    shared_core = pools[0, L.PI_CORE]
    own_core = pools[own, L.PI_CORE]
    tracked = shared_row0 >= 0 or own_row0 >= 0

    session_effects(pkey, skey, s, sf, si, fx, ikey, mkt, shifts, effects)
    traffic = effects[0]
    conv = effects[1]
    node = np.int64(effects[3])
    dscale = dscale * stay_mult[s, node]
    kbins = derive(skey, L.P_BINS)
    kview = derive(skey, L.P_VIEWER)
    kbuy = derive(skey, L.P_PURCHASE)
    nq = q1 - q0
    kdelay = derive(skey, L.P_VERIFY_DELAY)
    pkeys = np.empty(nq, dtype=np.uint64)
    dkeys = np.empty(nq, dtype=np.uint64)
    for j in range(nq):
        pkeys[j] = mix64(kbuy ^ qkey[q0 + j])
        dkeys[j] = mix64(kdelay ^ qkey[q0 + j])

    exposures = 0
    penalized = 0
    saturated = 0
    orders = 0
    units = 0
    ret_orders = 0
    ret_units = 0
    v_sold = 0
    v_verified = 0
    verified = 0.0
    gmv = 0.0
    refunds = 0.0
    cost = 0.0
    v = np.int64(0)
    for b in range(si[s, L.SI_BIN_START], si[s, L.SI_BIN_END]):
        if stop[0] != 0:
            return
        t0 = bins[b, L.BF_T0]
        width = bins[b, L.BF_WIDTH]
        n = poisson(derive(kbins, b - si[s, L.SI_BIN_START]), traffic * bins[b, L.BF_RATE])
        for _ in range(n):
            c = v * L.VIEWER_DRAWS
            t = t0 + width * uniform(kview, c)
            end = t + loglogistic(uniform(kview, c + 1), dscale, inv_shape)
            if end > hours:
                end = hours
            row = np.int64(-1)
            if tracked:
                if uniform(kview, c + 2) < shared:
                    if shared_row0 >= 0:
                        u = uniform(kview, c + 3)
                        row = shared_row0 + identity(u, shared_size, shared_core, psi)
                elif own_row0 >= 0:
                    row = own_row0 + identity(uniform(kview, c + 3), own_size, own_core, psi)
            for j in range(nq):
                q = q0 + j
                if qf[q, L.QF_START] >= end:
                    break
                if qf[q, L.QF_END] <= t:
                    continue
                exposures += 1
                p = min(qf[q, L.QF_P] * conv, 1.0)
                col = qi[q, L.QI_STATE_COL]
                stateful = row >= 0 and col >= 0
                if stateful:
                    first = bought[row, col]
                    if first >= 0 and first < s:
                        p *= keep_bought
                        saturated += 1
                    if is_mega:
                        e = small_seen[row, col]
                        if e >= 0 and e < s and tau > 0.0:
                            p *= 1.0 - tau * math.exp(-(day - sf[e, L.SF_DAY]) / fade)
                            penalized += 1
                    else:
                        small_seen[row, col] = s
                cq = v * L.PURCHASE_DRAWS
                if uniform(pkeys[j], cq) < p:
                    k = 1 + poisson_inversion(uniform(pkeys[j], cq + 1), qf[q, L.QF_EXTRA])
                    orders += 1
                    units += k
                    value = k * qf[q, L.QF_PRICE]
                    gmv += value
                    if qi[q, L.QI_VOUCHER] == 1:
                        # a voucher earns only if verified in the store within its validity
                        v_sold += k
                        intends = uniform(pkeys[j], cq + 2) < qf[q, L.QF_VERIFY]
                        delay = -qf[q, L.QF_DELAY] * math.log(uniform(dkeys[j], v))
                        if intends and delay <= qf[q, L.QF_VALIDITY]:
                            v_verified += k
                            verified += value
                            cost += k * qf[q, L.QF_COST]
                        else:
                            ret_orders += 1
                            ret_units += k
                            refunds += value
                    elif uniform(pkeys[j], cq + 2) < qf[q, L.QF_RETURN]:
                        ret_orders += 1
                        ret_units += k
                        refunds += value
                    else:
                        cost += k * qf[q, L.QF_COST]
                    if stateful and bought[row, col] < 0:
                        bought[row, col] = s
            v += 1

    counts[s, L.VIEWS] = v
    counts[s, L.EXPOSURES] = exposures
    counts[s, L.PENALIZED] = penalized
    counts[s, L.SATURATED] = saturated
    counts[s, L.ORDERS] = orders
    counts[s, L.UNITS] = units
    counts[s, L.RETURNED_ORDERS] = ret_orders
    counts[s, L.RETURNED_UNITS] = ret_units
    counts[s, L.VOUCHERS_SOLD] = v_sold
    counts[s, L.VOUCHERS_VERIFIED] = v_verified
    engagement(s, skey, sf, v, stay_mean[s, node], effects[2], counts, money)
    money[s, L.GMV] = gmv
    money[s, L.RETURNS] = refunds
    money[s, L.COST] = cost
    money[s, L.TRAFFIC] = traffic
    money[s, L.VERIFIED_REVENUE] = verified


@pjit
def simulate_paths(
    seed: np.uint64,
    first_path: np.int64,
    n_paths: np.int64,
    skeys: np.ndarray,
    sf: np.ndarray,
    si: np.ndarray,
    bins: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    qkey: np.ndarray,
    pools: np.ndarray,
    mkt: np.ndarray,
    state_rows: np.int64,
    state_cols: np.int64,
    n_blocks: np.int64,
    counts: np.ndarray,
    money: np.ndarray,
    fx: np.ndarray,
    ikey: np.ndarray,
    stay_mult: np.ndarray,
    stay_mean: np.ndarray,
    market_on: np.ndarray,
    stop: np.ndarray,
) -> None:
    """Simulate paths ``first_path .. first_path + n_paths - 1`` into counts/money[path - first].
    Setting ``stop[0]`` (int64[1]) from another thread ends the call soon, its output partial.

    ``counts``: int64[n_paths, S, N_COUNTS]; ``money``: float64[n_paths, S, N_MONEY].
    Paths are split into ``n_blocks`` contiguous blocks run in parallel; carried state lives
    in one workspace per block and is reset for every path, so the split never changes a result.
    """
    n_sessions = sf.shape[0]
    blocks = np.int64(n_paths if n_blocks > n_paths else n_blocks)
    if blocks < 1:
        blocks = np.int64(1)
    for blk in numba.prange(blocks):
        lo = (blk * n_paths) // blocks
        hi = ((blk + 1) * n_paths) // blocks
        small_seen = np.empty((state_rows, state_cols), dtype=np.int16)
        bought = np.empty((state_rows, state_cols), dtype=np.int16)
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
            small_seen[:] = -1
            bought[:] = -1
            pkey = path_key(seed, first_path + i)
            time_shifts(
                pkey, si, fx, ikey, mkt, xs, market, market_on, pos, val, pos2, val2, shifts
            )
            for s in range(n_sessions):
                simulate_session(
                    s,
                    pkey,
                    session_key(pkey, skeys[s]),
                    sf,
                    si,
                    bins,
                    qf,
                    qi,
                    qkey,
                    pools,
                    mkt,
                    small_seen,
                    bought,
                    counts[i],
                    money[i],
                    fx,
                    ikey,
                    stay_mult,
                    stay_mean,
                    effects,
                    shifts,
                    stop,
                )


def run_paths(
    compiled: Any,
    seed: int,
    first_path: int,
    counts: np.ndarray,
    money: np.ndarray,
    stop: np.ndarray | None = None,
) -> None:
    """Fill ``counts``/``money`` (one row per path from ``first_path``) for a compiled model
    (`forecast.engine.compile.Compiled`), on the current numba threads.

    Scheduling is dynamic (one block at a time): paths differ in size because of the
    heavy-tailed traffic, and a static half each leaves one thread idle. Who runs a block
    never changes a result.
    """
    c = compiled
    n = counts.shape[0]
    with numba.parallel_chunksize(1):
        simulate_paths(
            np.uint64(seed),
            first_path,
            n,
            c.skeys,
            c.sf,
            c.si,
            c.bins,
            c.qf,
            c.qi,
            c.qkey,
            c.pools,
            c.mkt,
            c.state_rows,
            c.state_cols,
            BLOCKS_PER_THREAD * numba.get_num_threads(),
            counts,
            money,
            c.fx,
            c.ikey,
            c.stay_mult,
            c.stay_mean,
            c.market_on,
            np.zeros(1, dtype=np.int64) if stop is None else stop,
        )
