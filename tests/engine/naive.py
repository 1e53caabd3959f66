"""A slow, obviously correct pure-Python reference of the per-viewer model.

Written from the model's documentation (forecast.model.entities, forecast.engine.arrivals), not
from the kernel: its own quadrature for the arrival bins, NumPy's generator instead of the
counter-based streams, arrivals drawn as one Poisson total split over bins by a categorical
draw, dwell from a logistic variate, carried state in a dict. The influencer and session
effects follow `forecast.model.spread`'s definition (correlated normal cores by NumPy's
Cholesky, jumps by inverse draws); only the grid of stay nodes is read from the compiled
strategy, as it is part of the model's definition. Agreement with the kernel is
checked in distribution (tests/engine/test_reference.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import forecast as fc
from forecast.model.enums import Format, Kind

#: Outcomes the reference accumulates per session (named as in the kernel's tables).
COUNTED = (
    "views",
    "exposures",
    "penalized",
    "saturated",
    "orders",
    "units",
    "returned_orders",
    "likes",
    "gifts",
    "gmv",
    "returns",
    "cost",
    "watch_hours",
    "vouchers_sold",
    "vouchers_verified",
    "verified_revenue",
)
#: Every outcome it reports per session.
OUTCOMES = (*COUNTED, "gift_value")


def shape(t_min: np.ndarray, hours: float, assortment: int, m: fc.MarketParams) -> np.ndarray:
    """Continuous arrival intensity relative to the plateau at minutes ``t_min``."""
    total = hours * 60.0
    base = np.ones_like(t_min)
    if m.ramp_minutes > 0:
        base = np.minimum(base, m.ramp_start + (1 - m.ramp_start) * t_min / m.ramp_minutes)
    if m.tail_minutes > 0:
        base = np.minimum(base, m.tail_end + (1 - m.tail_end) * (total - t_min) / m.tail_minutes)
    slot = total / assortment
    in_burst = np.zeros_like(t_min)
    for k in range(assortment):
        in_burst += (t_min >= k * slot) & (t_min < k * slot + m.burst_minutes)
    return base + m.burst_lift * in_burst


def video_expectations(session: fc.Session, m: fc.MarketParams) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges in minutes, expected views per bin) of a short video: views decay with
    half-life ``video_half_life_days``, 6-hour bins, reach cut by each repeated episode."""
    total = session.days * 24 * 60.0
    edges = np.arange(0.0, total + 1e-9, 6 * 60.0)
    if edges[-1] < total - 1e-9:
        edges = np.append(edges, total)
    half = m.video_half_life_days * 24 * 60.0
    views = session.influencer.video_views * m.episode_reach_decay ** (session.episode - 1)
    to_come = 0.5 ** (edges / half)  # share of the video's views still to come at each edge
    return edges, views * (to_come[:-1] - to_come[1:])


def bin_expectations(
    session: fc.Session, m: fc.MarketParams, grid: int = 4000
) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges in minutes, expected arrivals per bin at traffic 1) by a fine midpoint rule."""
    if session.format is Format.VIDEO:
        return video_expectations(session, m)
    total = session.hours * 60.0
    edges = [0.0]
    while edges[-1] + m.bin_minutes < total - 1e-9:
        edges.append(edges[-1] + m.bin_minutes)
    edges.append(total)
    e = np.array(edges)
    out = np.empty(len(e) - 1)
    assert session.assortment is not None
    for b in range(len(e) - 1):
        t = e[b] + (np.arange(grid) + 0.5) / grid * (e[b + 1] - e[b])
        out[b] = shape(t, session.hours, session.assortment, m).mean() * (e[b + 1] - e[b])
    reach = m.episode_reach_decay ** (session.episode - 1)
    return e, out * session.influencer.views_per_hour * reach / 60.0


def conversion(session: fc.Session, product: fc.Product, m: fc.MarketParams) -> float:
    """Purchase probability of a fresh exposed viewer, as documented in MarketParams."""
    inf = session.influencer
    tier = inf.tier.value
    d = session.discounts.get(product.name, product.discount)
    assert session.categories is not None and session.assortment is not None
    p = inf.conversion * session.fit
    p *= math.exp(getattr(m.discount_sensitivity, tier) * (d - m.reference_discount))
    p *= (session.categories / m.reference_categories) ** (-getattr(m.category_sensitivity, tier))
    p *= (session.assortment / m.reference_assortment) ** (-getattr(m.assortment_sensitivity, tier))
    return min(1.0, p)


def mean_stay_minutes(
    edges: np.ndarray, lam: np.ndarray, scale: float, shape: float, total: float
) -> float:
    """Expected stay of one arrival, minutes, capped at the session end: the mean over the
    arrival profile of E[min(D, total - t)], with E[min(D, c)] as the integral of
    min(Q(u), c) over quantile levels u (midpoint rule)."""
    if lam.sum() <= 0:
        return 0.0
    u = (np.arange(4096) + 0.5) / 4096
    q = scale * (u / (1 - u)) ** (1 / shape)
    frac = (np.arange(8) + 0.5) / 8
    t = edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * frac[None, :]
    per_bin = np.minimum(q[None, None, :], total - t[:, :, None]).mean(axis=(1, 2))
    return float((per_bin * lam).sum() / lam.sum())


def _identity(rng: np.random.Generator, size: int, m: fc.MarketParams) -> int:
    core = min(size, max(1, round(m.core_people * size)))
    if core >= size:
        return int(rng.integers(size))
    if rng.random() < m.core_arrivals:
        return int(rng.integers(core))
    return core + int(rng.integers(size - core))


def effect_laws(session: fc.Session, m: fc.MarketParams) -> dict[str, Any]:
    """The session's effect laws as the model documents them: traffic's core sd scaled by
    ``traffic_noise``, the others' sds and every jump probability by ``session_effects``,
    the host sds by ``host_uncertainty``."""
    from forecast.model.spread import EffectLaw

    inf = session.influencer
    out: dict[str, Any] = {}
    for metric in ("traffic", "conversion", "engagement", "stay"):
        law = inf.law(metric)
        sd = law.sd * (m.traffic_noise if metric == "traffic" else m.session_effects)
        on = m.session_effects
        out[metric] = EffectLaw(
            sd, law.flop_prob * on, law.flop_mean, law.hit_prob * on, law.hit_mean
        )
        out[f"host_{metric}"] = getattr(inf, f"host_{metric}_sd") * m.host_uncertainty
    return out


def _jump(rng: np.random.Generator, law: Any) -> float:
    u = rng.random()
    if u < law.flop_prob:
        return -law.flop_mean * rng.exponential()
    if u < law.flop_prob + law.hit_prob:
        return law.hit_mean * rng.exponential()
    return 0.0


def simulate(strategy: fc.Strategy, paths: int, seed: int) -> dict[str, np.ndarray]:
    """``paths`` independent paths; each outcome as an array [paths, sessions]."""
    from forecast.engine.compile import compile_strategy
    from kernels import layout as L

    rng = np.random.default_rng(seed)
    bins = [bin_expectations(s, strategy.market) for s in strategy.sessions]
    # the stay nodes are part of the model's definition (the stay effect is drawn rounded to
    # them): read their grid, nothing else, from the compiled strategy
    fx = compile_strategy(strategy).fx
    grids = [
        (float(fx[k, L.FX_STAY_LO]), float(fx[k, L.FX_STAY_STEP]), int(fx[k, L.FX_STAY_NODES]))
        for k in range(len(strategy.sessions))
    ]
    rows = [simulate_path(strategy, rng, bins, grids) for _ in range(paths)]
    return {k: np.array([[r[k] for r in row] for row in rows]) for k in rows[0][0]}


def simulate_path(
    strategy: fc.Strategy,
    rng: np.random.Generator,
    bins: list[tuple[np.ndarray, np.ndarray]],
    grids: list[tuple[float, float, int]],
) -> list[dict[str, Any]]:
    """One path: a dict of outcomes per session."""
    m = strategy.market
    corr = np.array(
        [
            [1.0, m.corr_traffic_conversion, m.corr_traffic_engagement],
            [m.corr_traffic_conversion, 1.0, m.corr_conversion_engagement],
            [m.corr_traffic_engagement, m.corr_conversion_engagement, 1.0],
        ]
    )
    chol = np.linalg.cholesky(corr)
    hosts: dict[str, np.ndarray] = {}  # each influencer's own levels on this path
    for inf in strategy.influencers:
        hosts[inf.name] = np.concatenate([chol @ rng.standard_normal(3), rng.standard_normal(1)])
    small_seen: dict[tuple[str, int, str], int] = {}
    bought: dict[tuple[str, int, str], int] = {}
    out = []
    for s_idx, s in enumerate(strategy.sessions):
        inf = s.influencer
        edges, lam = bins[s_idx]
        laws = effect_laws(s, m)
        host = hosts[inf.name]
        core = np.concatenate([chol @ rng.standard_normal(3), rng.standard_normal(1)])
        logs = {}
        for i, metric in enumerate(("traffic", "conversion", "engagement", "stay")):
            law = laws[metric]
            logs[metric] = (
                laws[f"host_{metric}"] * host[i] + law.sd * core[i] + _jump(rng, law) - law.median()
            )
        lo, step, count = grids[s_idx]
        node = min(max(math.floor((logs["stay"] - lo) / step + 0.5), 0), count - 1)
        stay_mult = math.exp(lo + node * step) if count > 1 else 1.0
        traffic = math.exp(logs["traffic"])
        lift = math.exp(logs["conversion"])
        n = rng.poisson(traffic * lam.sum())
        which = rng.choice(lam.size, size=n, p=lam / lam.sum())
        video = s.format is Format.VIDEO
        x = math.pi / inf.dwell_shape
        mean_s = m.video_dwell_mean_s if video else inf.dwell_mean_s
        scale_min = mean_s * math.sin(x) / x / 60.0 * stay_mult
        total = (s.days * 24 if video else s.hours) * 60.0
        assert s.positions is not None and s.assortment is not None
        slot = total / s.assortment
        r: dict[str, Any] = dict.fromkeys(COUNTED, 0)
        r["views"] = int(n)
        seen_now: set[tuple[str, int, str]] = set()
        bought_now: set[tuple[str, int, str]] = set()
        for b in which:
            t = edges[b] + rng.random() * (edges[b + 1] - edges[b])
            dwell = scale_min * math.exp(rng.logistic() / inf.dwell_shape)
            end = min(t + dwell, total)
            if rng.random() < inf.shared_share:
                who = ("shared", _identity(rng, m.shared_audience, m))
            else:
                who = (inf.name, _identity(rng, inf.followers, m))
            for p, pos in zip(s.products, s.positions, strict=True):
                if not video and not (t < (pos + 1) * slot and end > pos * slot):
                    continue
                r["exposures"] += 1
                key = (who[0], who[1], p.name)
                prob = min(1.0, conversion(s, p, m) * lift)
                if key in bought:
                    prob *= 1 - m.saturation
                    r["saturated"] += 1
                if inf.tier is fc.Tier.MEGA:
                    if key in small_seen and m.trust_penalty > 0:
                        days = s.day - strategy.sessions[small_seen[key]].day
                        prob *= 1 - m.trust_penalty * math.exp(-days / m.trust_fade_days)
                        r["penalized"] += 1
                if rng.random() < prob:
                    k = 1 + rng.poisson(p.units_per_order - 1)
                    price = p.list_price * (1 - s.discounts.get(p.name, p.discount))
                    r["orders"] += 1
                    r["units"] += k
                    r["gmv"] += k * price
                    if p.kind is Kind.VOUCHER:
                        r["vouchers_sold"] += k
                        uses = rng.random() < p.verify_prob
                        if uses and rng.exponential(p.verify_delay_days) <= p.validity_days:
                            r["vouchers_verified"] += k
                            r["verified_revenue"] += k * price
                            r["cost"] += k * p.unit_cost
                        else:
                            r["returned_orders"] += 1
                            r["returns"] += k * price
                    elif rng.random() < p.returns:
                        r["returned_orders"] += 1
                        r["returns"] += k * price
                    else:
                        r["cost"] += k * p.unit_cost
                    bought_now.add(key)
                if inf.tier is not fc.Tier.MEGA:
                    seen_now.add(key)
        # what this session did is remembered from the next session on
        for key in bought_now:
            bought.setdefault(key, s_idx)
        for key in seen_now:
            small_seen[key] = s_idx
        # engagement: every arrival credited the session's expected stay
        watch_min = n * mean_stay_minutes(edges, lam, scale_min, inf.dwell_shape, total)
        r["watch_hours"] = watch_min / 60.0
        engage = math.exp(logs["engagement"])
        r["likes"] = int(rng.poisson(inf.likes_per_minute * watch_min * engage))
        r["gifts"] = int(rng.poisson(inf.gifts_per_hour * watch_min / 60.0 * engage))
        cv2 = inf.gift_value_cv**2
        if cv2 > 0:
            values = rng.gamma(1.0 / cv2, inf.gift_value_mean * cv2, size=r["gifts"])
        else:
            values = np.full(r["gifts"], inf.gift_value_mean)
        out.append(r | {"gift_value": float(values.sum())})
    return out
