"""What a past session says about a host: the observation operator (the simulator's
expectation of a session at the preset's levels) and the pieces the fit and its predictive
share. See `forecast.analysis.calibrate` for the model."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from forecast.analysis import posterior as post
from forecast.engine import arrivals, stay
from forecast.engine.compile import dwell_scale_hours
from forecast.model.entities import Influencer, MarketParams
from forecast.model.enums import Tier
from forecast.model.presets import SPREAD_CLASS
from forecast.model.spread import BETWEEN_HOSTS

#: Metrics fitted, in fitting order (stay first: the others' operators use a session's stay).
METRICS = ("stay", "traffic", "engagement", "conversion", "price")
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


def base_influencer(tier: Tier, name: str = "base") -> Influencer:
    """The preset a host of ``tier`` is fitted against."""
    if tier is Tier.AMATEUR:
        lvl = AMATEUR_BASE_LEVEL
        return Influencer.preset(tier, name, video_level=lvl, live_level=lvl)
    return Influencer.preset(tier, name)


@dataclass(frozen=True)
class Operator:
    """The simulator's expectation of one past session at the preset's levels:
    ``views`` (median views), ``stay_s`` (mean stay, seconds), ``exposure`` (products seen
    per arrival, every product of the stream counted), ``dilution`` (the purchase
    probability's factor at the session's products and categories)."""

    views: float
    stay_s: float
    exposure: float
    dilution: float

    def units_per_view(self, base: Influencer, log_stay: float | np.ndarray) -> Any:
        """Expected units per view at the base conversion with the stay ``log_stay`` (log of
        the stay multiplier): products seen grow with the stay as (exposure - 1) x e^x + 1."""
        seen = 1.0 + (self.exposure - 1.0) * np.exp(log_stay)
        return base.conversion * self.dilution * seen * UNITS_PER_ORDER


#: Mean units per order of a product of the stream (`forecast.Product`'s default).
UNITS_PER_ORDER = 1.2


@functools.lru_cache(maxsize=16)
def _stay_table(beta: float) -> tuple[np.ndarray, np.ndarray]:
    """log u and log G(u) on a grid of u in [1e-8, 1e8], G(u) = integral_0^u dx / (1 + x^beta):
    the expected stay capped at u of a log-logistic law of scale 1 (`stay.expected_stay`,
    exact quadrature), so that E[min(D, y)] = alpha G(y / alpha) by interpolation."""
    log_u = np.linspace(math.log(1e-8), math.log(1e8), 6001)
    return log_u, np.log(stay.expected_stay(np.exp(log_u), 1.0, beta))


def capped_stay(y: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """E[min(D, y)], hours, for y >= 0 (`stay.expected_stay` by table: relative error below
    1e-6, checked in the tests)."""
    log_u, log_g = _stay_table(beta)
    u = np.asarray(y, dtype=np.float64) / alpha
    out = np.zeros_like(u)
    pos = u > 0
    lu = np.log(u[pos])
    g = np.exp(np.interp(lu, log_u, log_g))
    small = lu < log_u[0]
    g = np.where(small, u[pos], g)
    big = lu > log_u[-1]
    g_inf = math.exp(log_g[-1]) + math.exp(log_u[-1]) ** (1 - beta) / (beta - 1)
    g = np.where(big, g_inf - u[pos] ** (1 - beta) / (beta - 1), g)
    out[pos] = g
    return alpha * out


def products_seen(
    t0: np.ndarray,
    width: np.ndarray,
    rate: np.ndarray,
    hours: float,
    n: int,
    alpha: float,
    beta: float,
) -> float:
    """Expected products seen per arrival in a stream of ``n`` equal slots filling the
    session, arrivals piecewise constant on bins: 1 (the slot the viewer arrives in) plus,
    for every later slot start c, P(stay > c - t), averaged over each bin as
    (F0(c - a) - F0(c - b)) / (b - a) with F0 the capped stay (`capped_stay`). The same
    exposure test as the kernels (`stay.exposure_patterns`, which the tests compare)."""
    if n <= 1:
        return 1.0
    c = np.arange(1, n) * (hours / n)
    hi = np.maximum(c[None, :] - t0[:, None], 0.0)
    lo = np.maximum(c[None, :] - (t0 + width)[:, None], 0.0)
    reach = (capped_stay(hi, alpha, beta) - capped_stay(lo, alpha, beta)).sum(axis=1) / width
    return float(np.sum(rate * (1.0 + reach)) / np.sum(rate))


@functools.lru_cache(maxsize=65536)
def operator(tier: Tier, hours: float, products: int, market: MarketParams) -> Operator:
    """`Operator` of a session of ``hours`` presenting ``products`` by the preset of ``tier``:
    the engine's arrival bins and stay integral, every product a slot of the stream."""
    base = base_influencer(tier)
    t0, width, rate = arrivals.bins(hours, products, base.views_per_hour, market)
    alpha = dwell_scale_hours(base.dwell_mean_s, base.dwell_shape)
    mean_stay = stay.mean_stay(t0, width, rate, hours, alpha, base.dwell_shape)
    exposure = products_seen(t0, width, rate, hours, products, alpha, base.dwell_shape)
    cats = min(base.categories, products)
    dilution = (cats / market.reference_categories) ** -market.category_sensitivity[tier] * (
        products / market.reference_assortment
    ) ** -market.assortment_sensitivity[tier]
    return Operator(float(rate.sum()), mean_stay * 3600.0, exposure, float(dilution))


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


class Fit(Protocol):
    """What the predictive needs of a calibration (`forecast.analysis.calibrate.Calibration`)."""

    @property
    def tiers(self) -> Mapping[Tier, TierFit]: ...

    @property
    def hosts(self) -> dict[str, Tier]: ...

    def level_draws(self, name: str | None, tier: Tier | None = None) -> dict[str, np.ndarray]: ...
