"""What a past session says about a host: the observation operator (the simulator's
expectation of a session at the preset's levels) and the pieces the fit and its predictive
share. See `forecast.analysis.calibrate` for the model."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from forecast.analysis import posterior as post
from forecast.engine import arrivals, stay
from forecast.engine.compile import dwell_scale_hours
from forecast.model.entities import TIME_FIELDS, Influencer, MarketParams
from forecast.model.enums import Tier
from forecast.model.presets import SPREAD_CLASS
from forecast.model.spread import BETWEEN_HOSTS, FITTED

#: Metrics fitted, in fitting order (stay first: the others' operators use a session's stay).
METRICS = ("stay", "traffic", "engagement", "conversion", "price")
#: The metrics whose levels drift (GMV per unit, ``price``, does not).
DRIFT_METRICS = ("stay", "traffic", "engagement", "conversion")
#: The Influencer field each metric's level scales, and what the summary calls it.
PARAMETER = {
    "traffic": "views_per_hour",
    "stay": "dwell_mean_s",
    "engagement": "likes_per_minute",
    "conversion": "conversion",
    "price": "gmv_per_unit",
}
#: GMV per unit of the price level 0, CNY (MODEL.md: median GMV per unit 81-90).
REFERENCE_PRICE = 85.0
#: Price hierarchy's prior centres (MODEL.md: GMV per unit p25/p75 57/122 across sessions).
PRICE_PRIOR = post.Prior(tau0=0.7, sigma0=0.45)
#: Level of the amateur preset the amateur hosts are fitted against (its reach is fitted).
AMATEUR_BASE_LEVEL = 4
#: Count noise of units on the log scale per unit sold: units = orders + Poisson(0.2 orders),
#: Var / mean^2 = 1.64 / (1.44 orders) = 1.37 / units.
UNITS_NOISE = 1.37
#: Variance the stay nodes add to log stay in the kernels (a spacing of 0.1: 0.1^2 / 12).
STAY_NODE_VAR = 0.1**2 / 12.0


@functools.lru_cache(maxsize=64)
def base_influencer(tier: Tier, name: str = "base") -> Influencer:
    """The preset a host of ``tier`` is fitted against (an immutable `Influencer`, made once
    per tier and name: a predictive of thousands of sessions asks for it per session)."""
    from forecast.model.presets import session_spread

    # the levels of the current edition; the session laws before the time layer (the static
    # fit gives the sessions all of a host's spread around its level; the fit in time,
    # `forecast.analysis.drift_fit`, then hands the drift its part), and no drift or market
    static: dict[str, Any] = dict(session_spread(tier, "2026-11"))
    static.update({name_: 0.0 for name_, _, _ in TIME_FIELDS if name_ != "drift_days"})
    old = Influencer.preset(tier, name, edition="2026-11", **_amateur(tier))
    # micro's old traffic core was an assumption (0.8); its hosts are KOL-class now
    static["traffic_sigma"] = (
        FITTED[("KOL", "traffic")].sd if tier is Tier.MICRO else old.traffic_sigma
    )
    return Influencer.preset(tier, name, **_amateur(tier), **static)


def _amateur(tier: Tier) -> dict[str, int]:
    lvl = AMATEUR_BASE_LEVEL
    return {"video_level": lvl, "live_level": lvl} if tier is Tier.AMATEUR else {}


#: Log stay multipliers (host level + session effect) on which an `Operator` tabulates a
#: session's mean stay and products seen; beyond them it extrapolates linearly in x, up to
#: the limits of a stay to the session's end (`Operator.log_stay_cap`).
X_GRID = np.linspace(-4.0, 4.0, 33)


@dataclass(frozen=True)
class Operator:
    """The simulator's expectation of one past session at the preset's levels: ``views``
    (median views), ``dilution`` (the purchase probability's factor at the session's products
    and categories), and at each stay multiplier e^x of `X_GRID` the log of the mean stay in
    seconds (``log_stay``, capped at the session's end as the kernels cap it) and of the
    products seen per arrival (``log_seen``, every product of the stream counted); and the
    limits of both as the multiplier grows without bound (every viewer stays to the end):
    ``log_stay_cap`` and ``log_seen_cap``, which no multiplier beyond the grid exceeds."""

    views: float
    dilution: float
    log_stay: np.ndarray
    log_seen: np.ndarray
    log_stay_cap: float
    log_seen_cap: float

    def stay_s(self, x: float | np.ndarray) -> np.ndarray:
        """Mean stay, seconds, at log stay multiplier ``x``: never longer than a viewer's
        time to the session's end on average (a host's level far beyond the grid once
        gave a mean stay of 26 h in a 9.5 h session)."""
        out: np.ndarray = np.exp(np.minimum(_interp(x, X_GRID, self.log_stay), self.log_stay_cap))
        return out

    def stay_multiplier(self, stay_s: np.ndarray) -> np.ndarray:
        """The log stay multiplier x whose mean stay is ``stay_s`` seconds (the inverse of
        `stay_s`; the mean stay rises strictly with x)."""
        out: np.ndarray = _interp(np.log(stay_s), self.log_stay, X_GRID)
        return out

    def units_per_view(self, base: Influencer, x: float | np.ndarray) -> np.ndarray:
        """Expected units per view at the base conversion and log stay multiplier ``x``."""
        seen = np.exp(np.minimum(_interp(x, X_GRID, self.log_seen), self.log_seen_cap))
        return np.asarray(base.conversion * self.dilution * seen * UNITS_PER_ORDER)


def _interp(x: float | np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Linear interpolation, extrapolated linearly beyond the ends."""
    x = np.asarray(x, dtype=np.float64)
    out = np.interp(x, xp, fp)
    lo_slope = (fp[1] - fp[0]) / (xp[1] - xp[0])
    hi_slope = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    out = np.where(x < xp[0], fp[0] + (x - xp[0]) * lo_slope, out)
    result: np.ndarray = np.where(x > xp[-1], fp[-1] + (x - xp[-1]) * hi_slope, out)
    return result


#: Mean units per order of a product of the stream (`forecast.Product`'s default).
UNITS_PER_ORDER = 1.2


@functools.lru_cache(maxsize=16)
def _stay_tables(beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log u, log G0(u) and log G1(u) on a grid of u in [1e-10, 1e10], with
    G0(u) = integral_0^u S(x) dx and G1(u) = integral_0^u x S(x) dx for the log-logistic
    survival S(x) = 1 / (1 + x^beta) of scale 1 (the engine's exact quadrature,
    `stay._moments`), so that for scale alpha F0(y) = alpha G0(y / alpha) and
    F1(y) = alpha^2 G1(y / alpha)."""
    log_u = np.linspace(math.log(1e-10), math.log(1e10), 16001)
    g0, g1 = stay._moments(np.exp(log_u), 1.0, beta)
    return log_u, np.log(g0), np.log(g1)


def _on_table(x: np.ndarray, grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.interp(x, grid, values)`` for a uniform ``grid`` (the stay tables'): the cell by
    arithmetic instead of a search, 7x faster on unsorted points, the same to rounding
    (values at the ends beyond them)."""
    last = grid.size - 2
    f = (np.asarray(x, dtype=np.float64) - grid[0]) * (last + 1) / (grid[-1] - grid[0])
    i = np.clip(np.floor(f), 0, last).astype(np.int64)
    frac = np.clip(f - i, 0.0, 1.0)
    lo = values[i]
    out: np.ndarray = lo + frac * (values[i + 1] - lo)
    return out


def _moments(
    y: np.ndarray, alpha: float | np.ndarray, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """(F0(y), F1(y)) of `stay._moments` by table, elementwise for y >= 0 (``alpha`` a scale
    or an array that broadcasts against ``y``): relative error below 1e-5 (the tests
    compare); beyond the table, F0 and F1 of its small-y limits (y and y^2 / 2) or its last
    values (a stay of 1e10 times the median is never reached)."""
    log_u, log_g0, log_g1 = _stay_tables(beta)
    u = np.asarray(y, dtype=np.float64) / alpha
    f0 = np.zeros_like(u)
    f1 = np.zeros_like(u)
    pos = u > 0
    lu = np.log(u[pos])
    small = lu < log_u[0]
    f0[pos] = np.where(small, u[pos], np.exp(_on_table(lu, log_u, log_g0)))
    f1[pos] = np.where(small, 0.5 * u[pos] ** 2, np.exp(_on_table(lu, log_u, log_g1)))
    return alpha * f0, alpha * alpha * f1


def mean_stays(
    t0: np.ndarray,
    width: np.ndarray,
    rate: np.ndarray,
    span: float,
    alphas: np.ndarray,
    beta: float,
) -> np.ndarray:
    """`stay.mean_stay` (hours) at each scale of ``alphas``, by table: per bin
    [y F0(y) - F1(y)] between y = span - t0 - w and span - t0, over the arrivals (every
    scale at once)."""
    hi = np.maximum(span - t0, 0.0)[None, :]
    lo = np.maximum(span - t0 - width, 0.0)[None, :]
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))[:, None]
    f0h, f1h = _moments(hi, a, beta)
    f0l, f1l = _moments(lo, a, beta)
    per_bin = (hi * f0h - f1h) - (lo * f0l - f1l)
    out: np.ndarray = (per_bin * (rate / width)).sum(axis=1) / np.sum(rate)
    return out


#: Stay scales of `products_seen` evaluated at once (bounds its temporaries: a 48 h session
#: of 400 products has 1.1 million (bin, slot) pairs).
SEEN_CHUNK = 8


def products_seen(
    t0: np.ndarray,
    width: np.ndarray,
    rate: np.ndarray,
    hours: float,
    n: int,
    alphas: np.ndarray,
    beta: float,
) -> np.ndarray:
    """Expected products seen per arrival, at each stay scale of ``alphas``, in a stream of
    ``n`` equal slots filling the session, arrivals piecewise constant on bins: 1 (the slot
    the viewer arrives in) plus, for every later slot start c, P(stay > c - t), averaged over
    each bin [a, b) as (F0(c - a) - F0(c - b)) / (b - a) with F0 the capped stay. The same
    exposure test as the kernels (`stay.exposure_patterns`, which the tests compare)."""
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if n <= 1:
        return np.ones(alphas.size)
    log_u, log_g0, _ = _stay_tables(beta)
    c = np.arange(1, n) * (hours / n)
    total = float(np.sum(rate))
    parts = []
    for edge, sign in ((t0, 1.0), (t0 + width, -1.0)):
        d = (c[None, :] - edge[:, None]).ravel()
        weight = np.repeat(rate / width, c.size)
        keep = d > 0
        parts.append((np.log(d[keep]), d[keep], sign * weight[keep]))
    reach = np.zeros(alphas.size)
    for k0 in range(0, alphas.size, SEEN_CHUNK):
        a = alphas[k0 : k0 + SEEN_CHUNK, None]
        for log_d, d, w in parts:
            lu = log_d[None, :] - np.log(a)
            g = np.where(lu < log_u[0], d / a, np.exp(_on_table(lu, log_u, log_g0)))
            reach[k0 : k0 + SEEN_CHUNK] += (g @ w) * a[:, 0]
    out: np.ndarray = 1.0 + reach / total
    return out


#: Most hosts one fit takes: the grid posterior and its operators cost about 6-8 ms a host
#: (five metrics; 3,000 hosts of 9,073 sessions fit in 23 s, 10,000 of 19,813 in 59 s on 2
#: cores, and `forecast calibrate` of those 10,000 takes 103 s and 2.1 GB); fit a larger
#: panel in parts (by tier or region).
MAX_FIT_HOSTS = 10_000
#: Most sessions one fit takes (each a row of every metric's likelihood grid).
MAX_FIT_SESSIONS = 100_000
#: Most work one fit or prediction may spend preparing session shapes (distinct tier, hours
#: and products: each an `operator`), in units of a 100-product shape (about 25 ms here; the
#: cost grows with the products, about 2 s at 10,000): 20,000 units, about 8 minutes.
MAX_SHAPE_WORK = 20_000
#: Products of the shape that is one unit of `MAX_SHAPE_WORK`.
SHAPE_UNIT_PRODUCTS = 100


def shape_work(tiers: Any, hours: Any, products: Any) -> tuple[float, int]:
    """Units of `MAX_SHAPE_WORK` the operators of these sessions cost, and how many distinct
    shapes they are (each tier, hours and products counted once, as `operator` remembers
    them)."""
    shapes = {(str(t), float(h), int(n)) for t, h, n in zip(tiers, hours, products, strict=True)}
    return float(sum(max(1.0, n / SHAPE_UNIT_PRODUCTS) for _, _, n in shapes)), len(shapes)


def check_shape_work(owner: str, tiers: Any, hours: Any, products: Any) -> None:
    """Refuse, before any work, sessions whose shapes cost more than `MAX_SHAPE_WORK`."""
    work, shapes = shape_work(tiers, hours, products)
    if work > MAX_SHAPE_WORK:
        raise ValueError(
            f"{owner}: sessions = {shapes:,} distinct session shapes (tier, hours, products) is "
            f"not allowed; preparing them would cost {work:,.0f} units of a "
            f"{SHAPE_UNIT_PRODUCTS}-product shape, at most {MAX_SHAPE_WORK:,} (about 8 "
            "minutes): round hours (to minutes, say) or split the table"
        )


@functools.lru_cache(maxsize=65536)
def operator(tier: Tier, hours: float, products: int, market: MarketParams) -> Operator:
    """`Operator` of a session of ``hours`` presenting ``products`` by the preset of ``tier``:
    the engine's arrival bins, the stay integrals at every multiplier of `X_GRID`, every
    product a slot of the stream."""
    base = base_influencer(tier)
    beta = base.dwell_shape
    t0, width, rate = arrivals.bins(hours, products, base.views_per_hour, market)
    alphas = dwell_scale_hours(base.dwell_mean_s, beta) * np.exp(X_GRID)
    log_stay = np.log(mean_stays(t0, width, rate, hours, alphas, beta) * 3600.0)
    seen = products_seen(t0, width, rate, hours, products, alphas, beta)
    cats = min(base.categories, products)
    dilution = (cats / market.reference_categories) ** -market.category_sensitivity[tier] * (
        products / market.reference_assortment
    ) ** -market.assortment_sensitivity[tier]
    stay_cap, seen_cap = _limits(t0, width, rate, hours, products)
    return Operator(
        float(rate.sum()),
        float(dilution),
        log_stay,
        np.log(seen),
        math.log(stay_cap * 3600.0),
        math.log(seen_cap),
    )


def _limits(
    t0: np.ndarray, width: np.ndarray, rate: np.ndarray, hours: float, n: int
) -> tuple[float, float]:
    """(mean stay, hours; products seen per arrival) when every viewer stays to the end: the
    limits of `mean_stays` and `products_seen` as the stay scale grows (F0(y) = y,
    F1(y) = y^2 / 2)."""
    hi = np.maximum(hours - t0, 0.0)
    lo = np.maximum(hours - t0 - width, 0.0)
    total = float(np.sum(rate))
    stay_cap = float(np.sum(rate / width * 0.5 * (hi * hi - lo * lo))) / total
    if n <= 1:
        return stay_cap, 1.0
    c = np.arange(1, n) * (hours / n)
    reach = 0.0
    for edge, sign in ((t0, 1.0), (t0 + width, -1.0)):
        d = np.maximum(c[None, :] - edge[:, None], 0.0)
        reach += sign * float(np.sum((rate / width)[:, None] * d))
    return stay_cap, 1.0 + reach / total


def law_parts(inf: Influencer, metric: str) -> tuple[post.Jumps, post.Prior]:
    """The session law's fixed jumps and the prior centres of ``metric`` for ``inf``'s tier."""
    if metric == "price":
        return post.Jumps(), PRICE_PRIOR
    law = inf.law(metric)
    jumps = post.Jumps(law.flop_prob, law.flop_mean, law.hit_prob, law.hit_mean)
    tau0 = BETWEEN_HOSTS[(SPREAD_CLASS[inf.tier], metric)]
    return jumps, post.Prior(tau0=tau0, sigma0=max(law.sd, 0.02))


@dataclass(frozen=True)
class TierFit:
    """One tier's posterior: its hosts (in order) and one `posterior.Posterior` per metric,
    with the number of sessions behind each host's level."""

    tier: Tier
    hosts: tuple[str, ...]
    metrics: Mapping[str, post.Posterior]
    sessions: Mapping[str, np.ndarray]  # metric -> int[hosts]
    products: np.ndarray  # median products presented per host (0: not known)
    #: metric -> the fit in time (`forecast.analysis.drift_fit`): drift_sd, drift_days,
    #: session_scale, market_sd; empty for a history without dates (the static fit)
    time: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    #: each host's last dated session, days from the market calendar's epoch (nan: none)
    last_day: np.ndarray | None = None

    def jumps(self, metric: str) -> post.Jumps:
        """The tier's session-law jumps of ``metric``, scaled as the fit in time says."""
        jumps, _ = law_parts(base_influencer(self.tier), metric)
        scale = self.time.get(metric, {}).get("session_scale", 1.0)
        if scale == 1.0:
            return jumps
        return post.Jumps(
            jumps.flop_prob,
            max(0.01, jumps.flop_mean * scale),
            jumps.hit_prob,
            min(0.45, max(0.01, jumps.hit_mean * scale)),
        )


class Fit(Protocol):
    """What the predictive needs of a calibration (`forecast.analysis.calibrate.Calibration`)."""

    @property
    def tiers(self) -> Mapping[Tier, TierFit]: ...

    @property
    def hosts(self) -> dict[str, Tier]: ...

    @property
    def market(self) -> MarketParams: ...

    def influencer(self, host: str, name: str | None = None, **overrides: Any) -> Influencer: ...

    def new_influencer(self, tier: Tier | str, name: str, **overrides: Any) -> Influencer: ...

    def level_draws(self, name: str | None, tier: Tier | None = None) -> dict[str, np.ndarray]: ...
