"""The time layer in the engine: drift and market factor against the closed forms they imply,
shared by every campaign of a week, paired by (seed, path, influencer), the same bits in
both kernels.

With every other spread off (``traffic_noise``, ``session_effects``, ``host_uncertainty`` 0)
a session's log traffic multiplier is exactly its time shift: drift sd x X(t) + market sd x
Y(week), Gaussian with a covariance we can write down. Tolerances are `tests.stats.Z` standard
errors (false failure 6.8e-6 each); the standard error of a sample covariance of Gaussians
is sqrt((C_jj C_kk + C_jk^2) / n).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import forecast as fc
from tests.stats import Z

PRODUCT = fc.Product("serum", list_price=199.0, unit_cost=40.0, category="beauty", discount=0.2)
#: Only the time layer moves traffic.
TIME_ONLY = fc.MarketParams(traffic_noise=0.0, session_effects=0.0, host_uncertainty=0.0)


def log_traffic(strategy: fc.Strategy, paths: int, seed: int = 5, method: str = "cohort"):
    """Log traffic multipliers, [paths, sessions]."""
    s = fc.run(strategy, paths=paths, seed=seed, method=method).sessions.sort(["path", "session"])
    return np.log(s["traffic"].to_numpy()).reshape(paths, -1)


def closed_form(strategy: fc.Strategy) -> np.ndarray:
    """Covariance of the sessions' log traffic under TIME_ONLY: drift
    d_i d_j exp(-|t_i - t_j| / tau) within a host, market m_i m_j phi^|w_i - w_j| within a
    market class (0 across classes: traffic's class correlation is 0)."""
    m = strategy.market
    phi = math.exp(-1.0 / m.market_weeks)
    n = len(strategy.sessions)
    c = np.zeros((n, n))
    for i, a in enumerate(strategy.sessions):
        for j, b in enumerate(strategy.sessions):
            ia, ib = a.influencer, b.influencer
            if ia.name == ib.name:
                assert ia.drift_days is not None and ia.traffic_drift_sd is not None
                c[i, j] += (ia.traffic_drift_sd * m.drift) ** 2 * math.exp(
                    -abs(a.day - b.day) / ia.drift_days
                )
            if ia.is_mega == ib.is_mega:
                assert ia.traffic_market_sd is not None and ib.traffic_market_sd is not None
                wa, wb = math.floor(a.day / 7), math.floor(b.day / 7)
                c[i, j] += (
                    ia.traffic_market_sd
                    * ib.traffic_market_sd
                    * m.market_factor**2
                    * phi ** abs(wa - wb)
                )
    return c


def five_sessions(market: fc.MarketParams = TIME_ONLY) -> fc.Strategy:
    """One micro host, five sessions two days apart (as micro_only's, but one host)."""
    amy = fc.Influencer.preset("micro", "amy")
    return fc.Strategy(
        [fc.Session(amy, [PRODUCT], day=2.0 * k, hours=3.0) for k in range(5)], market
    )


def test_five_sessions_covariance_is_the_closed_form() -> None:
    plan = five_sessions()
    x = log_traffic(plan, 20_000)
    want = closed_form(plan)
    got = np.cov(x, rowvar=False)
    n = x.shape[0]
    se = np.sqrt((np.outer(np.diag(want), np.diag(want)) + want**2) / n)
    assert np.all(np.abs(got - want) < Z * se), (got, want)
    assert np.all(np.abs(x.mean(axis=0)) < Z * np.sqrt(np.diag(want) / n))


def test_five_session_campaign_variance_is_the_closed_form_and_exceeds_independent() -> None:
    """Var of the campaign's total traffic (the sum of the five multipliers, lognormal):
    sum_jk exp((v_j + v_k) / 2) (exp(C_jk) - 1), against 20,000 paths (tolerance Z standard
    errors of a sample variance, sqrt((m4 - s^4) / n) from the sample). The same five
    sessions drawn independently (each with its own variance, no covariance) would have a
    variance at most 40 % of it."""
    plan = five_sessions()
    total = np.exp(log_traffic(plan, 20_000)).sum(axis=1)
    c = closed_form(plan)
    v = np.diag(c)
    var = float(np.sum(np.exp((v[:, None] + v[None, :]) / 2) * np.expm1(c)))
    independent = float(np.sum(np.exp(v) * np.expm1(v)))
    got = float(np.var(total, ddof=1))
    dev = total - total.mean()
    se = math.sqrt((np.mean(dev**4) - got**2) / total.size)
    assert abs(got - var) < Z * se, (got, var, se)
    assert independent < 0.4 * var


def test_market_factor_is_shared_by_every_campaign_of_the_week() -> None:
    """Two campaigns (other hosts, other days in the same weeks, other lengths) run with one
    seed meet the same market: a mid host in week 1 of campaign A and another mid host in
    week 1 of campaign B have the same log traffic (drift off), bit for bit; a mega host's
    (another market class) differs."""
    market = TIME_ONLY.replace(drift=0.0)
    mid_a = fc.Influencer.preset("mid", "a")
    mid_b = fc.Influencer.preset("mid", "b")
    mega = fc.Influencer.preset("mega", "m")
    a = fc.Strategy(
        [fc.Session(mid_a, [PRODUCT], day=8.0), fc.Session(mid_a, [PRODUCT], day=30.0)],
        market,
    )
    b = fc.Strategy(
        [
            fc.Session(mid_b, [PRODUCT], day=0.0),
            fc.Session(mid_b, [PRODUCT], day=12.5),
            fc.Session(mega, [PRODUCT], day=13.0),
        ],
        market,
    )
    xa = log_traffic(a, 300)
    xb = log_traffic(b, 300)
    assert np.array_equal(xa[:, 0], xb[:, 1])  # both in week 1
    assert not np.array_equal(xa[:, 0], xb[:, 0])  # week 0
    assert not np.array_equal(xb[:, 1], xb[:, 2])  # mega: its own series


def test_market_weeks_follow_dates() -> None:
    """A dated campaign's week is its calendar week: a campaign starting on a Monday and one
    starting 7 days earlier meet the same market in the same calendar week."""
    market = TIME_ONLY.replace(drift=0.0)
    mid = fc.Influencer.preset("mid", "a")
    monday = dt.date(2026, 12, 7)
    a = fc.Strategy([fc.Session(mid, [PRODUCT], date=monday)], market)
    b = fc.Strategy(
        [fc.Session(mid, [PRODUCT], day=7.0)], market, start=monday - dt.timedelta(days=7)
    )
    assert b.sessions[0].day == 7.0 and a.start == monday
    assert np.array_equal(log_traffic(a, 200), log_traffic(b, 200))


def test_market_persistence_and_class_correlations() -> None:
    """The market series: stationary sd the loading, lag-1 exp(-1 / market_weeks) between
    consecutive weeks, mega and the other tiers uncorrelated on traffic and correlated
    ``market_stay_correlation`` on stay (stay read through a loading of 1.0 so that its node
    grid of 0.1 log units is fine beside it)."""
    market = TIME_ONLY.replace(drift=0.0)
    mid = fc.Influencer.preset("mid", "k", stay_market_sd=1.0)
    mega = fc.Influencer.preset("mega", "c", stay_market_sd=1.0)
    plan = fc.Strategy(
        [
            fc.Session(mid, [PRODUCT], day=0.0, hours=1.0),
            fc.Session(mega, [PRODUCT], day=1.0, hours=1.0),
            fc.Session(mid, [PRODUCT], day=7.0, hours=1.0),
        ],
        market,
    )
    n = 20_000
    s = fc.run(plan, paths=n, seed=9).sessions.sort(["path", "session"])
    x = np.log(s["traffic"].to_numpy()).reshape(n, -1)
    stay = np.log((s["watch_hours"] / s["views"]).to_numpy()).reshape(n, -1)
    sd = mid.traffic_market_sd
    assert sd is not None
    assert abs(x[:, 0].std() / sd - 1.0) < Z / math.sqrt(2 * n)
    r = np.corrcoef(x, rowvar=False)
    phi = math.exp(-1.0 / market.market_weeks)
    se_r = lambda rho: (1 - rho**2) / math.sqrt(n)  # noqa: E731
    assert abs(r[0, 2] - phi) < Z * se_r(phi)
    assert abs(r[0, 1]) < Z * se_r(0.0)
    rs = np.corrcoef(stay[:, 0], stay[:, 1])[0, 1]
    c = market.market_stay_correlation
    # a session's stay is the node nearest its log stay (0.1 apart): the rounding adds
    # variance 0.1^2 / 12 to a variance of 1, so the correlation shrinks by < 0.1 %
    assert abs(rs - c) < Z * se_r(c) + 0.001 * c


def test_drift_is_keyed_by_path_and_influencer() -> None:
    """A host's drift draws do not depend on other hosts' sessions, and its k-th session
    draws the k-th innovation: adding another host's sessions leaves its shifts unchanged
    (market off, so only the drift moves traffic)."""
    market = TIME_ONLY.replace(market_factor=0.0)
    amy = fc.Influencer.preset("micro", "amy")
    bo = fc.Influencer.preset("micro", "bo")
    alone = fc.Strategy([fc.Session(amy, [PRODUCT], day=d) for d in (0.0, 3.0)], market)
    mixed = fc.Strategy(
        [
            fc.Session(bo, [PRODUCT], day=0.0),
            fc.Session(amy, [PRODUCT], day=0.0),
            fc.Session(bo, [PRODUCT], day=1.0),
            fc.Session(amy, [PRODUCT], day=3.0),
        ],
        market,
    )
    xa = log_traffic(alone, 200)
    xm = log_traffic(mixed, 200)
    assert np.array_equal(xa, xm[:, [1, 3]])
    assert not np.array_equal(xm[:, 0], xm[:, 1])


def test_fitted_host_drifts_from_its_last_session() -> None:
    """A host with ``as_of`` carries its level on that date: a session g days later has
    drift variance d^2 (1 - exp(-2 g / tau)) (here 10 and 60 days after), not the stationary
    d^2."""
    market = TIME_ONLY.replace(market_factor=0.0)
    start = dt.date(2026, 12, 1)
    host = fc.Influencer.preset("mid", "li", as_of=start - dt.timedelta(days=10))
    plan = fc.Strategy(
        [fc.Session(host, [PRODUCT], day=0.0), fc.Session(host, [PRODUCT], day=50.0)],
        market,
        start=start,
    )
    x = log_traffic(plan, 20_000)
    d, tau = host.traffic_drift_sd, host.drift_days
    assert d is not None and tau is not None
    for j, g in enumerate((10.0, 60.0)):
        want = d**2 * -math.expm1(-2 * g / tau)
        got = float(np.var(x[:, j], ddof=1))
        assert abs(got / want - 1.0) < Z * math.sqrt(2 / x.shape[0])
    with pytest.raises(ValueError, match="before influencer 'li'"):
        fc.run(plan.replace(start=start - dt.timedelta(days=20)), paths=10)


@pytest.mark.parametrize("method", ["viewer"])
def test_both_kernels_draw_the_same_time_layer(method: str) -> None:
    """The per-viewer kernel's traffic multipliers (every spread on) are the cohort kernel's,
    bit for bit: both read one `kernels.timeline.time_shifts`."""
    amy = fc.Influencer.preset("micro", "amy", views_per_hour=300.0)
    star = fc.Influencer.preset("mega", "star", views_per_hour=600.0)
    plan = fc.Strategy(
        [fc.Session(amy, [PRODUCT], day=d, hours=1.0) for d in (0.0, 5.0, 9.0)]
        + [fc.Session(star, [PRODUCT], day=12.0, hours=1.0)]
    )
    a = fc.run(plan, paths=50, seed=2, method="cohort").sessions["traffic"].to_numpy()
    b = fc.run(plan, paths=50, seed=2, method=method).sessions["traffic"].to_numpy()
    assert np.array_equal(a, b)
