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
    m = fc.MarketParams(traffic_noise=0.0, **market)
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
    strategy = fc.Strategy([fc.Session(inf, [fc.Product("a", list_price=10.0)], hours=1.0)])
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
