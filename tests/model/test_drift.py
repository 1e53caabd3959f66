"""The time layer against the real sessions it is set from (MODEL.md, "How sessions move over
time"), measured on the engine as MODEL.md measured the scrape.

A path is one panel like the scrape's: 8 mega hosts with 23 sessions each (the celebrity
hosts) or 10 mid hosts with 45 (the KOL hosts) on random days of 9 weeks, every session one
hour of a product of its own (as real sessions sell other products each time: one product
sold again and again would carry its buyers' saturation from session to session). Per path
we take MODEL.md's statistics of the log metrics (views per hour from the traffic
multiplier, units and likes per view, average stay) and average them over `PANELS` paths
(`forecast.model.drift.measure`).

Tolerances. Against the design values (`forecast.model.drift.panel_statistics`, the same
process simulated in NumPy over 300 panels): the engine must be that process, so a panel
average of 60 differs only by Monte Carlo error (lag-1: panel sd about 0.06, so 4.5 standard
errors of the mean are 0.035, we allow 0.05; month shift: panel sd about 30 % of it, 4.5 se
= 17 %, we allow 20 %; robust sd: 10 %, stay 15 % for its node grid). Against MODEL.md: the
lag-1 figures rest on 619 pairs (se about 0.04) and a fit, we allow 0.08; the month shifts
on 7-10 hosts (se of an sd about 25 %), we allow 40 % where the fit reaches them and state
the KOL shortfall (the fit gives 0.41-0.49 where MODEL.md has 0.75-1.06, see
`forecast.model.drift.FITTED`) as a lower bound. The static model (drift and market off) is
shown to miss them: its lag-1 is near 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import forecast as fc
from forecast.model import drift

PANELS = 60
TIERS = {"celebrity": ("mega", 8, 23), "KOL": ("mid", 10, 45)}


def panel(cls: str, market: fc.MarketParams) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The engine's log metrics [path, host, session] of one class's panel and its days."""
    tier, hosts, n = TIERS[cls]
    rng = np.random.default_rng(2021)
    days = np.sort(rng.uniform(0.0, 63.0, (hosts, n)), axis=1)
    infs = [fc.Influencer.preset(tier, f"h{h}", assortment=1, categories=1) for h in range(hosts)]
    sessions = [
        (
            float(days[h, k]),
            fc.Session(
                infs[h],
                [fc.Product(f"p{h}_{k}", list_price=90.0, discount=0.2)],
                day=float(days[h, k]),
                hours=1.0,
                label=f"h{h}#{k}",
            ),
        )
        for h in range(hosts)
        for k in range(n)
    ]
    sessions.sort(key=lambda x: x[0])
    plan = fc.Strategy([s for _, s in sessions], market)
    s = fc.run(plan, paths=PANELS, seed=17, method="cohort").sessions
    zero = float((s["units"] == 0).mean())
    assert zero < 0.01, zero  # the half-unit stand-in below touches few sessions
    order = {f"h{h}#{k}": h * n + k for h in range(hosts) for k in range(n)}
    s = s.with_columns(s["label"].replace_strict(order).alias("slot")).sort(["path", "slot"])

    def shaped(col: Any) -> np.ndarray:
        return np.log(np.asarray(col, dtype=float)).reshape(PANELS, hosts, n)

    views = s["views"].to_numpy().astype(float)
    out = {
        "traffic": shaped(s["traffic"].to_numpy()),
        # a session that sold nothing (a deep flop) counts half a unit, as a log needs;
        # MODEL.md kept selling sessions only
        "conversion": shaped(np.maximum(s["units"].to_numpy(), 0.5) / views),
        "engagement": shaped(np.maximum(s["likes"].to_numpy(), 0.5) / views),
        "stay": shaped(s["watch_hours"].to_numpy() / views),
    }
    return out, np.broadcast_to(days, (PANELS, hosts, n))


@pytest.fixture(scope="module")
def measured() -> dict[tuple[str, str], dict[str, float]]:
    out = {}
    for cls in drift.CLASSES:
        values, t = panel(cls, fc.MarketParams())
        for metric in drift.METRICS:
            out[(cls, metric)] = drift.measure(values[metric], t)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("cls", drift.CLASSES)
@pytest.mark.parametrize("metric", drift.METRICS)
def test_engine_is_the_designed_process(measured: Any, cls: str, metric: str) -> None:
    got = measured[(cls, metric)]
    fit = drift.FITTED[(cls, metric)]
    want = drift.panel_statistics(cls, metric, fit, drift.market_sd(cls, metric), 300, 9)
    assert abs(got["lag1"] - want["lag1"]) < 0.05, (got, want)
    assert got["month"] == pytest.approx(want["month"], rel=0.20), (got, want)
    # stay is read off the session's stay node, a grid of about 0.1 log units, and a robust
    # sd (a median of absolute deviations) of values on a grid moves in its steps
    assert got["within"] == pytest.approx(want["within"], rel=0.15 if metric == "stay" else 0.10)


@pytest.mark.slow
@pytest.mark.parametrize("cls", drift.CLASSES)
@pytest.mark.parametrize("metric", ["traffic", "conversion", "engagement"])
def test_lag1_autocorrelation_is_model_mds(measured: Any, cls: str, metric: str) -> None:
    assert abs(measured[(cls, metric)]["lag1"] - drift.LAG1[metric]) < 0.08


@pytest.mark.slow
@pytest.mark.parametrize("cls", drift.CLASSES)
@pytest.mark.parametrize("metric", drift.METRICS)
def test_month_shift_is_model_mds(measured: Any, cls: str, metric: str) -> None:
    got = measured[(cls, metric)]["month"]
    target = drift.MONTH_SHIFT[(cls, metric)]
    if (cls, metric) in {("KOL", "traffic"), ("KOL", "engagement"), ("celebrity", "stay")}:
        # the stated shortfall: a homogeneous drift cannot reach these without widening
        # the spread around the two-month median (forecast.model.drift.FITTED)
        assert got > 0.45 * target
    else:
        assert got == pytest.approx(target, rel=0.40)


@pytest.mark.slow
def test_static_model_has_neither() -> None:
    """Drift and market off: sessions forget each other (lag-1 near 0) and a host's month
    moves only by the noise of two medians, less than two thirds of what the time layer gives."""
    values, t = panel("KOL", fc.MarketParams(drift=0.0, market_factor=0.0))
    static = drift.measure(values["traffic"], t)
    assert abs(static["lag1"]) < 0.08
    fit = drift.FITTED[("KOL", "traffic")]
    on = drift.panel_statistics("KOL", "traffic", fit, drift.market_sd("KOL", "traffic"), 300, 9)
    assert static["month"] < 0.67 * on["month"]


def test_market_sd_shows_model_mds_weekly_sd_over_nine_weeks() -> None:
    """The stationary sd times the mean 9-week sample sd ratio of the AR(1) is MODEL.md's
    weekly sd (closed form, checked against 20,000 simulated windows to 2 %)."""
    rng = np.random.default_rng(0)
    phi = np.exp(-1.0 / drift.MARKET_WEEKS)
    y = np.empty((20_000, 9))
    y[:, 0] = rng.standard_normal(20_000)
    for w in range(1, 9):
        y[:, w] = phi * y[:, w - 1] + np.sqrt(1 - phi**2) * rng.standard_normal(20_000)
    ratio = float(np.sqrt(np.var(y, axis=1, ddof=1).mean()))
    assert ratio == pytest.approx(drift.sample_sd_ratio(), rel=0.02)
    for key, weekly in drift.MARKET_WEEKLY.items():
        assert drift.market_sd(*key) * drift.sample_sd_ratio() == pytest.approx(weekly)
