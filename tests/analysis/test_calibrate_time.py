"""Calibration in time, held out in time: fit each host's first 8 weeks, predict the next 4.

Worlds are drawn from the model with its time layer (`synthetic_history(in_time=True)`): 10
mid hosts a world, hyperparameters and levels from the fit's prior, a session every 1-4 days
for 12 weeks, each host's levels drifting and the world's market moving as the defaults say.
The fit sees the first 8 weeks. Then every session of the next 4 weeks is predicted
(`Calibration.predict`) and every host-week with 3 or more sessions as a total
(`Calibration.predict_totals`, its sessions drawn jointly). The same held-out data are also
predicted by a static fit (the training table without its dates), which must fall short on
weekly totals: a level that stands still and sessions drawn independently.

Tolerances: `WORLDS` worlds give about 1,200 held-out sessions (6,045 rows of outputs) and
242 host-weeks. The share of a 90 % interval that holds has a binomial sd of 0.009 (sessions)
and 0.019 (weeks), but
the outcomes of one world are correlated (a market, the hosts' fitted levels), so we take 1.5
times those and allow 3.5 of them either side of the range the issue asks for, 85-95 %:
[0.81, 0.99] for weeks and [0.83, 0.97] for sessions (measured: see `test_held_out_*`
docstrings). The static fit's weekly coverage of views and likes must be below 0.82 (measured
0.68 and 0.69).
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast.analysis.synthetic import draw_truth, session_plan, synthetic_history
from forecast.model.enums import Tier

WORLDS = 12
HOSTS = 10
TRAIN_WEEKS, TEST_WEEKS = 8, 4
START = dt.datetime(2021, 6, 1)

pytestmark = pytest.mark.slow


def world(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    truth = draw_truth(Tier.MID, HOSTS, rng, prefix=f"w{seed}-")
    n = {h: int((TRAIN_WEEKS + TEST_WEEKS) * 7 / 2.5) for h in truth.hosts}
    plan = session_plan([truth], n, rng)
    history = synthetic_history([truth], plan, seed, in_time=True)
    cut = START + dt.timedelta(weeks=TRAIN_WEEKS)
    end = cut + dt.timedelta(weeks=TEST_WEEKS)
    train = history.filter(pl.col("start") < cut)
    test = history.filter((pl.col("start") >= cut) & (pl.col("start") < end))
    return train, test


@functools.cache
def held_out(kind: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(session coverage per output, weekly coverage per output) over `WORLDS` worlds."""
    sessions, weeks = [], []
    for seed in range(WORLDS):
        train, test = world(seed)
        if kind == "static":
            train = train.with_columns(pl.lit(None, pl.Datetime("us")).alias("start"))
        cal = fc.calibrate(train, seed=seed, draws=400)
        sessions.append(cal.predict(test, draws=1000, seed=1).select("output", "inside90"))
        totals = cal.predict_totals(test, draws=1000, seed=1)
        weeks.append(totals.filter(pl.col("sessions") >= 3).select("output", "inside90"))

    def share(parts: list[pl.DataFrame]) -> pl.DataFrame:
        table = pl.concat(parts).drop_nulls()
        return (
            table.group_by("output")
            .agg(pl.col("inside90").mean().alias("coverage"), pl.len().alias("n"))
            .sort("output")
        )

    return share(sessions), share(weeks)


def test_held_out_sessions_hold_their_intervals() -> None:
    """Single sessions 1-4 weeks ahead (measured, 6,045 sessions: stay 0.913, gmv 0.942,
    likes 0.948, units 0.938, views 0.913)."""
    sessions, _ = held_out("dated")
    assert sessions.height == 5
    for row in sessions.iter_rows(named=True):
        assert 0.83 <= row["coverage"] <= 0.97, row


def test_held_out_weekly_totals_hold_their_intervals() -> None:
    """Each host's weekly totals (measured, 242 host-weeks: gmv 0.884, likes 0.930, units
    0.901, views 0.893)."""
    _, weeks = held_out("dated")
    assert weeks.height == 4 and weeks["n"].min() >= 150
    for row in weeks.iter_rows(named=True):
        assert 0.81 <= row["coverage"] <= 0.99, row


def test_static_fit_falls_short_on_weekly_totals() -> None:
    """The same data fitted without dates: weekly totals of views and likes held far less
    often than 90 % (measured: views 0.678, likes 0.694, units 0.756, gmv 0.781), and every
    output below the dated fit."""
    _, static = held_out("static")
    _, dated = held_out("dated")
    by = dict(zip(static["output"], static["coverage"], strict=True))
    assert by["views"] < 0.82 and by["likes"] < 0.82
    for out, cov in zip(dated["output"], dated["coverage"], strict=True):
        assert by[out] < cov, out


def test_history_without_dates_falls_back_with_a_note() -> None:
    train, _ = world(0)
    cal = fc.calibrate(train.drop("start"), seed=0, draws=200)
    assert any("no dates" in n for n in cal.notes)
    inf = cal.influencer(train["influencer"][0])
    assert inf.as_of is None and inf.traffic_drift_sd == 0.0 and inf.traffic_market_sd == 0.0


def test_dated_fit_carries_the_level_to_the_last_session() -> None:
    """A dated fit: each host is anchored at its last session's date and drifts from there;
    its drift sds are the tier's fitted ones, positive."""
    train, _ = world(1)
    cal = fc.calibrate(train, seed=0, draws=200)
    host = train["influencer"][0]
    inf = cal.influencer(host)
    last = train.filter(pl.col("influencer") == host)["start"].max()
    assert isinstance(last, dt.datetime)
    assert inf.as_of == last.date()
    assert inf.traffic_drift_sd is not None and inf.traffic_drift_sd > 0
    assert cal.meta["time"]["mid"]["traffic"]["hosts_used"] == HOSTS
