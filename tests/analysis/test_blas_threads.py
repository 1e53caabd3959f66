"""Calibration's linear algebra runs on one BLAS thread (`forecast.analysis.blas`): inside a
fit and a predictive, every BLAS pool is held at one thread; after, the caller's setting is
back; and a fit's bits do not depend on what the caller allowed BLAS."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import forecast as fc
from forecast.analysis import calibrate as calibrate_module
from forecast.analysis import predictive
from forecast.analysis import synthetic as syn
from forecast.model.enums import Tier


def blas_threads() -> list[int]:
    return [int(p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    rng = np.random.default_rng(5)
    truths = [syn.draw_truth(Tier.MID, 3, rng)]
    plan = syn.session_plan(truths, {h: 6 for t in truths for h in t.hosts}, rng)
    return syn.synthetic_history(truths, plan, seed=3)


def test_a_fit_and_a_predictive_run_on_one_blas_thread(
    history: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[int]] = []
    fit_time = calibrate_module.fit_time
    simulate = predictive._simulate_block

    def spy_fit(*args: Any, **kw: Any) -> Any:
        seen.append(blas_threads())
        return fit_time(*args, **kw)

    def spy_simulate(*args: Any, **kw: Any) -> Any:
        seen.append(blas_threads())
        return simulate(*args, **kw)

    monkeypatch.setattr(calibrate_module, "fit_time", spy_fit)
    monkeypatch.setattr(predictive, "_simulate_block", spy_simulate)
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        cal = fc.calibrate(history, seed=1, draws=200)
        n_fit = len(seen)
        cal.predict(history, seed=1)
        after = blas_threads()
    assert n_fit > 0 and len(seen) > n_fit  # both spies were reached
    assert all(t == [1] * len(t) for t in seen), seen
    assert after == before


def test_a_fit_does_not_depend_on_the_callers_blas_threads(history: pl.DataFrame) -> None:
    with threadpool_limits(limits=2, user_api="blas"):
        two = fc.calibrate(history, seed=1, draws=200)
    with threadpool_limits(limits=1, user_api="blas"):
        one = fc.calibrate(history, seed=1, draws=200)
    assert two.hosts == one.hosts
    for name in two.hosts:
        assert two.influencer(name) == one.influencer(name)
    assert two.summary().equals(one.summary())
