"""Closed forms: with traffic noise and carried-state effects off, a session's mean views and
mean orders equal integrals of the documented model, computed here independently by quadrature.

Views of a session are Poisson with mean sum(bin expectations); orders of one product are a
thinned Poisson process, mean sum_b rate_b * integral over the bin of P(exposed | t). Each
check is a z-test of the sample mean with |z| < 4.5 (false failure 6.8e-6 each).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import forecast as fc
from forecast.engine import arrivals
from tests.engine import naive
from tests.stats import Z, z_one_sample

PATHS = 4_000


def exposure_expectation(session: fc.Session, market: fc.MarketParams, k: int) -> float:
    """E[number of arrivals exposed to the k-th product] by quadrature (traffic 1)."""
    edges, lam = naive.bin_expectations(session, market)
    total = session.hours * 60.0
    assert session.positions is not None and session.assortment is not None
    slot = total / session.assortment
    start, end = session.positions[k] * slot, (session.positions[k] + 1) * slot
    inf = session.influencer
    x = math.pi / inf.dwell_shape
    scale = inf.dwell_mean_s * math.sin(x) / x / 60.0
    out = 0.0
    grid = 2000
    for b in range(lam.size):
        lo, hi = edges[b], edges[b + 1]
        if lo >= end:
            break
        t = lo + (np.arange(grid) + 0.5) / grid * (hi - lo)
        need = np.clip(start - t, 0.0, None)  # minutes of watch needed to reach the slot
        survive = np.where(
            need > 0, 1.0 / (1.0 + (np.maximum(need, 1e-300) / scale) ** inf.dwell_shape), 1.0
        )
        survive = np.where(t < end, survive, 0.0)
        out += lam[b] * survive.mean()
    return out


def single_session(tier: str, hours: float, products: list[fc.Product], **market) -> fc.Strategy:  # type: ignore[no-untyped-def]
    inf = fc.Influencer.preset(
        tier, "solo", views_per_hour=400.0, conversion=0.3, assortment=12, categories=3
    )
    # the mechanics before the spread effects (those are checked in their own tests below)
    m = fc.MarketParams(
        traffic_noise=0.0,
        session_effects=0.0,
        host_uncertainty=0.0,
        drift=0.0,
        market_factor=0.0,
        **market,
    )
    return fc.Strategy([fc.Session(inf, products, hours=hours)], m)


CASES = {
    "mega, two products, default shape": ("mega", 2.0, {}),
    "micro, long session, no bursts": ("micro", 5.4, {"burst_lift": 0.0}),
    "mid, short session, strong ramp": (
        "mid",
        0.75,
        {"ramp_minutes": 40.0, "tail_minutes": 20.0, "bin_minutes": 2.5},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_mean_views_and_orders_match_closed_form(case: str) -> None:
    tier, hours, market = CASES[case]
    a = fc.Product("a", list_price=50.0, discount=0.35)
    b = fc.Product("b", list_price=80.0, discount=0.1)
    strategy = single_session(tier, hours, [a, b], **market)
    session = strategy.sessions[0]
    result = fc.run(strategy, paths=PATHS, seed=5)
    views = result.paths["views"].to_numpy()

    _, lam = naive.bin_expectations(session, strategy.market)
    expected_views = lam.sum()
    # the package's own bins agree with the independent quadrature (its error ~1e-8)
    assert arrivals.expected_arrivals(
        hours, session.assortment or 0, session.influencer.views_per_hour, strategy.market
    ) == pytest.approx(expected_views, rel=1e-6)
    assert abs(z_one_sample(views, expected_views)) < Z
    # Poisson: variance equals the mean (sample variance within 4.5 of its own sd ~ mean*sqrt(2/n))
    assert views.var(ddof=1) == pytest.approx(expected_views, rel=Z * math.sqrt(2 / PATHS))

    expected_orders = sum(
        naive.conversion(session, p, strategy.market)
        * exposure_expectation(session, strategy.market, k)
        for k, p in enumerate(session.products)
    )
    orders = result.paths["orders"].to_numpy()
    assert abs(z_one_sample(orders, expected_orders)) < Z
    units = result.paths["units"].to_numpy()
    assert abs(z_one_sample(units, expected_orders * 1.2)) < Z


def test_traffic_multiplier_is_lognormal_with_median_one() -> None:
    """Mean views with traffic noise = expected arrivals * exp(sigma^2 / 2)."""
    inf = fc.Influencer.preset(
        "micro", "solo", views_per_hour=300.0, traffic_sigma=0.5, assortment=5
    )
    strategy = fc.Strategy(
        [fc.Session(inf.without_spread(), [fc.Product("a", list_price=10.0)], hours=1.0)]
    )
    result = fc.run(strategy, paths=PATHS, seed=8)
    traffic = result.sessions["traffic"].to_numpy()
    log_t = np.log(traffic)
    assert abs(z_one_sample(log_t, 0.0)) < Z
    assert log_t.std() == pytest.approx(0.5, rel=Z * math.sqrt(1 / (2 * PATHS)))
    _, lam = naive.bin_expectations(strategy.sessions[0], strategy.market)
    assert abs(z_one_sample(result.paths["views"].to_numpy(), lam.sum() * math.exp(0.125))) < Z


def test_returns_and_costs_follow_their_rates() -> None:
    """E[returned orders] = return rate * E[orders]; cost only on units kept."""
    p = fc.Product("a", list_price=20.0, unit_cost=5.0, return_rate=0.4, units_per_order=1.0)
    strategy = single_session("micro", 2.0, [p])
    paths = fc.run(strategy, paths=PATHS, seed=9).paths
    orders = paths["orders"].to_numpy()
    returned = paths["returned_orders"].to_numpy()
    # conditional on orders, returned ~ Binomial(orders, 0.4): z of the pooled share
    share = returned.sum() / orders.sum()
    assert abs(share - 0.4) < Z * math.sqrt(0.4 * 0.6 / orders.sum())
    gmv = paths["gmv"].to_numpy()
    np.testing.assert_allclose(gmv, orders * 20.0)  # one unit per order, no discount
    np.testing.assert_allclose(paths["cost"].to_numpy(), (orders - returned) * 5.0)


def _effects_only(metric: str) -> dict[str, float]:
    """Influencer fields that leave only ``metric``'s session and host effects on."""
    off: dict[str, float] = {}
    for other in ("traffic", "conversion", "engagement", "stay"):
        if other == metric:
            continue
        off[f"host_{other}_sd"] = 0.0
        off[f"{other}_flop_prob"] = 0.0
        off[f"{other}_hit_prob"] = 0.0
        if other != "traffic":
            off[f"{other}_sigma"] = 0.0
    return off


@pytest.mark.parametrize("method", ["cohort", "viewer"])
def test_mean_views_with_host_and_session_traffic(method: str) -> None:
    """E[views] = expected arrivals x exp(host_sd^2 / 2) x E[session multiplier], the last in
    closed form (`EffectLaw.mean_multiplier`); host and session independent."""
    from forecast.model.spread import EffectLaw

    inf = fc.Influencer.preset("mid", "kol", views_per_hour=300.0, assortment=5)
    inf = inf.replace(**_effects_only("traffic"))
    strategy = fc.Strategy(
        [fc.Session(inf, [fc.Product("a", list_price=10.0)], hours=1.0)],
        fc.MarketParams(drift=0.0, market_factor=0.0),
    )
    paths = 4000 if method == "cohort" else 1500
    views = fc.run(strategy, paths=paths, seed=12, method=method).paths["views"].to_numpy()
    _, lam = naive.bin_expectations(strategy.sessions[0], strategy.market)
    law = inf.law("traffic")
    assert isinstance(law, EffectLaw)
    mean = lam.sum() * math.exp(inf.host_traffic_sd**2 / 2) * law.mean_multiplier()
    assert abs(z_one_sample(views, mean)) < Z


@pytest.mark.parametrize("method", ["cohort", "viewer"])
def test_mean_orders_and_likes_with_conversion_and_engagement_effects(method: str) -> None:
    """With the traffic effects uncorrelated to them, E[orders] = E[orders at median
    conversion] x E[conversion multiplier] and E[likes] = likes per minute x expected watch
    minutes x E[engagement multiplier] (conversion small, so p x multiplier stays below 1 but
    on paths of probability < 1e-9)."""
    inf = fc.Influencer.preset("mid", "kol", views_per_hour=600.0, conversion=0.002)
    inf = inf.replace(**_effects_only("conversion") | _effects_only("engagement"))
    inf = inf.replace(host_conversion_sd=0.68, host_engagement_sd=0.93)
    inf = inf.replace(**{k: v for k, v in _effects_only("traffic").items() if "traffic" in k})
    inf = inf.replace(
        traffic_sigma=0.0,
        stay_sigma=0.0,
        stay_flop_prob=0.0,
        stay_hit_prob=0.0,
        host_stay_sd=0.0,
        host_traffic_sd=0.0,
    )
    product = fc.Product("a", list_price=10.0)
    market = fc.MarketParams(
        corr_traffic_conversion=0.0, corr_traffic_engagement=0.0, drift=0.0, market_factor=0.0
    )
    strategy = fc.Strategy([fc.Session(inf, [product], hours=1.0)], market)
    paths = 6000 if method == "cohort" else 1500
    result = fc.run(strategy, paths=paths, seed=13, method=method).paths
    session = strategy.sessions[0]
    conv = inf.law("conversion").mean_multiplier() * math.exp(inf.host_conversion_sd**2 / 2)
    expected_orders = naive.conversion(session, product, market) * exposure_expectation(
        session, market, 0
    )
    assert abs(z_one_sample(result["orders"].to_numpy(), expected_orders * conv)) < Z
    lift = inf.law("engagement").mean_multiplier() * math.exp(inf.host_engagement_sd**2 / 2)
    edges, lam = naive.bin_expectations(session, market)
    x = math.pi / inf.dwell_shape
    scale = inf.dwell_mean_s * math.sin(x) / x / 60.0
    stay = naive.mean_stay_minutes(edges, lam, scale, inf.dwell_shape, 60.0)
    expected_likes = inf.likes_per_minute * lam.sum() * stay * lift
    assert abs(z_one_sample(result["likes"].to_numpy(), expected_likes)) < Z
