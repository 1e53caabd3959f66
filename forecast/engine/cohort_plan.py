"""What the cohort kernel needs beyond `forecast.engine.compile.Compiled`, and whether it is exact.

The cohort kernel draws counts, not viewers, and reproduces the per-viewer kernel's
distribution exactly (no approximation) from these facts:

* Arrivals are a Poisson process given the session's traffic multiplier, and each arrival's
  time, stay, pool and identity are independent draws. So the arrivals with each *exposure
  pattern* (which products the viewer saw, `forecast.engine.stay.exposure_patterns`) are independent
  Poisson counts, and so are the arrivals of each identity.
* Purchases are independent given what a viewer saw and the state it carried in: orders of a
  product are binomial in its exposures.
* Identities of one pool segment (its heavy-watcher core, or the rest) are exchangeable, so
  carried state is a count of identities per *class*: (bought the product before?, which
  smaller session showed it to them last?). Each identity's exposures in a session are
  Poisson, so how many identities of a class change class, and how many exposures and
  purchases they make, are drawn exactly per class (binomial for who had any, then the
  zero-truncated counts of those who did, `kernels.cohort.occupancy`).

Exact only while each session shows at most one product whose state is carried (a product
shown in several sessions): two such products in one session are seen by the same arrivals,
and their joint class counts would be needed. Such strategies fall back to the per-viewer
kernel under ``method="auto"``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from forecast.engine.compile import Compiled
from forecast.engine.stay import MEMO_SESSIONS, Patterns, exposure_patterns
from forecast.model.entities import Strategy
from kernels import layout as L


@dataclass(frozen=True)
class CohortPlan:
    """Flat arrays for `kernels.cohort`; columns in `kernels.layout` (PT_, SC_, SG_)."""

    reasons: tuple[str, ...]
    """Why the cohort kernel is not exact for this strategy; empty when it is."""
    pat: np.ndarray  # int64[P, N_PT]
    pat_rate: np.ndarray  # float64[K, P]: the rate of each pattern at each stay node
    sc: np.ndarray  # int64[S, N_SC]
    seg: np.ndarray  # int64[G, N_SG]
    seg_share: np.ndarray  # float64[G]
    pool_seg: np.ndarray  # int64[pools, 2]: first segment, number of segments (0: untracked)
    seen_day: np.ndarray  # float64[state columns (>= 1), slots + 1]
    n_classes: int
    max_products: int

    @property
    def exact(self) -> bool:
        return not self.reasons


@functools.lru_cache(maxsize=MEMO_SESSIONS)
def _session_patterns(
    arrays: bytes, slots: bytes, scales: tuple[float, ...], shape: float
) -> tuple[Patterns, ...]:
    """`exposure_patterns` of one session at each stay node's watch-time scale, remembered
    per session (its arrival bins ``arrays``: starts, widths, rates; its product ``slots``:
    starts, ends; as bytes). `exposure_patterns` remembers each node too, but by hashing its
    arrays, which a search or a sensitivity design asking for thousands of strategies of the
    same sessions would do forty times a session. Pure: a remembered result has the same
    bits."""
    t0, width, rate = np.frombuffer(arrays, dtype=np.float64).reshape(3, -1)
    start, end = np.frombuffer(slots, dtype=np.float64).reshape(2, -1)
    return tuple(exposure_patterns(t0, width, rate, start, end, a, shape) for a in scales)


def plan_cohort(strategy: Strategy, c: Compiled) -> CohortPlan:
    """Exposure patterns, state segments and classes of a compiled strategy."""
    n = c.n_sessions
    sc = np.zeros((n, L.N_SC), dtype=np.int64)
    sc[:, L.SC_STATE_Q] = -1
    pats: list[np.ndarray] = []
    rates: list[np.ndarray] = []  # [K, patterns of the session] each
    reasons: list[str] = []
    total = 0
    max_products = 1
    state_q: list[int] = []
    for s in range(n):
        q0, q1 = int(c.si[s, L.SI_Q_START]), int(c.si[s, L.SI_Q_END])
        b0, b1 = int(c.si[s, L.SI_BIN_START]), int(c.si[s, L.SI_BIN_END])
        max_products = max(max_products, q1 - q0)
        bins = c.bins[b0:b1]
        n_nodes = int(c.fx[s, L.FX_STAY_NODES])
        arrays = np.ascontiguousarray(bins[:, [L.BF_T0, L.BF_WIDTH, L.BF_RATE]].T)
        slot_edges = np.ascontiguousarray(c.qf[q0:q1][:, [L.QF_START, L.QF_END]].T)
        per_node = _session_patterns(
            arrays.tobytes(),
            slot_edges.tobytes(),
            tuple(float(c.sf[s, L.SF_DWELL_SCALE] * c.stay_mult[s, j]) for j in range(n_nodes)),
            float(c.sf[s, L.SF_DWELL_SHAPE]),
        )
        keys = sorted({(int(a), int(b)) for p in per_node for a, b in zip(p.lo, p.hi, strict=True)})
        index = {key: i for i, key in enumerate(keys)}
        node_rates = np.zeros((c.stay_mult.shape[1], len(keys)))
        for j, p in enumerate(per_node):
            for a, b, r in zip(p.lo, p.hi, p.rate, strict=True):
                node_rates[j, index[(int(a), int(b))]] = r
        sc[s, L.SC_PAT_START] = total
        total += len(keys)
        sc[s, L.SC_PAT_END] = total
        pats.append(np.asarray(keys, dtype=np.int64).reshape(-1, 2))
        rates.append(node_rates)
        shared = float(c.sf[s, L.SF_SHARED])
        own = int(c.si[s, L.SI_OWN_POOL])
        tracked = (shared > 0.0 and c.pools[0, L.PI_ROW0] >= 0) or (
            shared < 1.0 and c.pools[own, L.PI_ROW0] >= 0
        )
        carried = [j for j in range(q1 - q0) if tracked and c.qi[q0 + j, L.QI_STATE_COL] >= 0]
        if len(carried) > 1:
            names = [strategy.products[int(c.qi[q0 + j, L.QI_PRODUCT])].name for j in carried]
            label = strategy.sessions[s].label
            reasons.append(
                f"session {label!r} shows {len(carried)} products that are also shown in other "
                f"sessions ({', '.join(repr(x) for x in names)}); the cohort kernel carries "
                "state exactly for at most one such product per session"
            )
        sc[s, L.SC_STATE_Q] = carried[0] if len(carried) == 1 else -1
        state_q.append(int(c.qi[q0 + carried[0], L.QI_STATE_COL]) if carried else -1)

    # which sessions must record what, per carried product (state column)
    tau = float(c.mkt[L.MF_TRUST_PENALTY])
    slots = [0] * max(c.state_cols, 1)
    days: dict[tuple[int, int], float] = {}
    for s in range(n):
        col = state_q[s]
        if col < 0:
            continue
        later = [t for t in range(s + 1, n) if state_q[t] == col]
        sc[s, L.SC_WRITES_BOUGHT] = int(bool(later))
        later_mega = any(c.si[t, L.SI_IS_MEGA] == 1 for t in later)
        if c.si[s, L.SI_IS_MEGA] == 0 and tau > 0.0 and later_mega:
            slots[col] += 1
            sc[s, L.SC_SEEN_SLOT] = slots[col]
            days[(col, slots[col])] = float(c.sf[s, L.SF_DAY])
    n_slots = max(slots)
    seen_day = np.zeros((max(c.state_cols, 1), n_slots + 1), dtype=np.float64)
    for (col, k), day in days.items():
        seen_day[col, k] = day

    # segments of tracked pools: the heavy-watcher core and the rest
    psi = float(c.mkt[L.MF_CORE_ARRIVALS])
    seg_rows: list[list[int]] = []
    shares: list[float] = []
    pool_seg = np.zeros((c.pools.shape[0], 2), dtype=np.int64)
    for pool in range(c.pools.shape[0]):
        if c.pools[pool, L.PI_ROW0] < 0:
            continue
        size = int(c.pools[pool, L.PI_SIZE])
        core = int(c.pools[pool, L.PI_CORE])
        pool_seg[pool, 0] = len(seg_rows)
        if core >= size:
            seg_rows.append([pool, size])
            shares.append(1.0)
        else:
            seg_rows.append([pool, core])
            shares.append(psi)
            seg_rows.append([pool, size - core])
            shares.append(1.0 - psi)
        pool_seg[pool, 1] = len(seg_rows) - pool_seg[pool, 0]
    return CohortPlan(
        reasons=tuple(reasons),
        pat=np.ascontiguousarray(np.concatenate(pats, axis=0), dtype=np.int64),
        pat_rate=np.ascontiguousarray(np.concatenate(rates, axis=1), dtype=np.float64),
        sc=sc,
        seg=np.asarray(seg_rows, dtype=np.int64).reshape(-1, L.N_SG),
        seg_share=np.asarray(shares, dtype=np.float64),
        pool_seg=pool_seg,
        seen_day=seen_day,
        n_classes=2 * (n_slots + 1),
        max_products=max_products,
    )
