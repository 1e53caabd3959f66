"""Calibration: fitting 1,000 past sessions of 20 hosts (every session of its own hours and
products, so no operator is shared), alone and as ``forecast calibrate`` does it (fit, the
in-sample predictive of every session, the HTML page); the same for 3,000 hosts of 1-5
sessions each; and a forecast with fitted hosts side by side with the same forecast with
presets.

    python -m pytest bench/test_bench_calibrate.py -q     # about 2 minutes

The three fits take minutes and judge nothing: `bench.gate` leaves them out (`gate.FULL`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl
import pytest

import forecast as fc
from bench.conftest import interleaved, sized, timed
from forecast.analysis import synthetic as syn
from forecast.analysis.observation import operator
from forecast.analysis.predictive import in_sample_draws
from forecast.model.enums import Tier
from forecast.reporting.calibration_page import render

PATHS = sized(10_000, 1_000)
SEED = 2024


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    """1,000 sessions of 20 hosts (5 mega, 10 mid, 5 micro), 50 each, hours jittered off the
    synthetic plan's lattice so that every session has an operator of its own."""
    rng = np.random.default_rng(1)
    truths = [
        syn.draw_truth(Tier.MEGA, 5, rng),
        syn.draw_truth(Tier.MID, 10, rng),
        syn.draw_truth(Tier.MICRO, 5, rng),
    ]
    per_host = sized(50, 3)
    plan = syn.session_plan(truths, {h: per_host for t in truths for h in t.hosts}, rng)
    plan = plan.with_columns(pl.col("hours") + pl.Series(rng.uniform(0.0, 0.49, plan.height)))
    return syn.synthetic_history(truths, plan, seed=2)


def fit(history: pl.DataFrame) -> fc.Calibration:
    operator.cache_clear()  # cold: the operators are part of every fit
    return fc.calibrate(history, seed=1)


def test_fit_1000_sessions_of_20_hosts(benchmark: Any, record: Any, history: pl.DataFrame) -> None:
    assert history.height == sized(1000, 60)
    cal, seconds = timed(benchmark, lambda: fit(history), rounds=2)
    record(f"calibrate, {history.height:,} sessions of 20 hosts (fit)", seconds, "s")
    assert len(cal.hosts) == 20


def test_calibrate_command_work(benchmark: Any, record: Any, history: pl.DataFrame) -> None:
    """What ``forecast calibrate`` does: fit, predictive of every session (2,000 draws),
    the page."""

    def whole() -> str:
        cal = fit(history)
        return render(cal, cal.predict(history, seed=1))

    page, seconds = timed(benchmark, whole, rounds=2)
    record(f"calibrate, {history.height:,} sessions: fit + predictive + page", seconds, "s")
    assert "PIT histograms" in page


@pytest.fixture(scope="module")
def small_fit() -> fc.Calibration:
    """A fit of 120 sessions of 4 hosts (2 mid, 2 micro)."""
    rng = np.random.default_rng(3)
    truths = [syn.draw_truth(Tier.MID, 2, rng), syn.draw_truth(Tier.MICRO, 2, rng)]
    plan = syn.session_plan(truths, {h: sized(30, 8) for t in truths for h in t.hosts}, rng)
    return fc.calibrate(syn.synthetic_history(truths, plan, seed=2), seed=1)


def test_forecast_with_fitted_hosts_vs_presets(
    benchmark: Any, record: Any, record_ratio: Any, small_fit: fc.Calibration
) -> None:
    """A mid host then a micro host selling the serum, 10,000 paths: fitted hosts against
    the presets of their tiers (warm: each strategy prepared once before timing). Gated:
    the issue allows the fitted forecast 1.5x the preset's time (a ratio of 0.67)."""
    cal = small_fit
    serum = fc.Product("serum", list_price=199.0, unit_cost=40.0, category="beauty")

    def plan(a: fc.Influencer, b: fc.Influencer) -> fc.Strategy:
        return fc.Strategy((fc.Session(a, (serum,)), fc.Session(b, (serum,), day=3.0)))

    fitted = plan(cal.influencer("mid-0", name="a"), cal.influencer("micro-0", name="b"))
    preset = plan(fc.Influencer.preset("mid", "a"), fc.Influencer.preset("micro", "b"))
    for s in (fitted, preset):
        fc.run(s, paths=100, seed=SEED)
    r = interleaved(
        benchmark,
        lambda: fc.run(fitted, paths=PATHS, seed=SEED),
        {"preset": lambda: fc.run(preset, paths=PATHS, seed=SEED)},
    )
    record("forecast with 2 fitted hosts, 10,000 paths", 1000 * r.median(), "ms")
    record("forecast with 2 presets, 10,000 paths", 1000 * r.median("preset"), "ms")
    record_ratio("forecast with presets vs fitted hosts, paths/s", r.ratio("preset", None))


@pytest.fixture(scope="module")
def many_hosts() -> pl.DataFrame:
    """3,000 hosts (300 mega, 1,500 mid, 1,200 micro) of 1-5 sessions each, 9,073 sessions
    (smoke: 150 hosts), on the synthetic plan's lattice of hours and products."""
    rng = np.random.default_rng(5)
    k = sized(1, 20)
    truths = [
        syn.draw_truth(Tier.MEGA, 300 // k, rng, "g"),
        syn.draw_truth(Tier.MID, 1500 // k, rng, "d"),
        syn.draw_truth(Tier.MICRO, 1200 // k, rng, "c"),
    ]
    sessions = {h: int(rng.integers(1, 6)) for t in truths for h in t.hosts}
    return syn.synthetic_history(truths, syn.session_plan(truths, sessions, rng), seed=2)


def test_calibrate_3000_hosts(benchmark: Any, record: Any, many_hosts: pl.DataFrame) -> None:
    """What ``forecast calibrate`` does with 3,000 hosts, each part timed: the fit (cold
    operators), the in-sample predictive of every session (as many draws as the command
    takes), and the page (12 hosts drawn, the rest in a table)."""
    hosts = many_hosts.get_column("influencer").n_unique()
    parts: dict[str, float] = {}

    def whole() -> str:
        operator.cache_clear()
        t0 = time.perf_counter()
        cal = fc.calibrate(many_hosts, seed=1)
        t1 = time.perf_counter()
        table = cal.predict(many_hosts, seed=1, draws=in_sample_draws(many_hosts.height))
        t2 = time.perf_counter()
        page = render(cal, table)
        parts.update(fit=t1 - t0, predict=t2 - t1, page=time.perf_counter() - t2)
        return page

    page, seconds = timed(benchmark, whole, rounds=1)
    record(f"calibrate, {hosts:,} hosts: fit + predictive + page", seconds, "s")
    for name, s in parts.items():
        record(f"calibrate, {hosts:,} hosts: {name}", s, "s")
    assert page.count("<img") <= 12 + 1 + 1  # the hosts drawn, the PIT figure, at most one more
