"""Costs bounded before work starts, and nothing absurd written, in calibrate and predict:
hosts, sessions and session shapes of a fit; the tier a prediction asks for; the seed range;
the page of a fit of many hosts. Every check is exact (fixed seeds), none statistical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast.analysis import calibrate as calibrate_module
from forecast.analysis import observation, predictive
from forecast.analysis import synthetic as syn
from forecast.cli import main
from forecast.model.enums import Tier
from forecast.reporting import calibration_page


@pytest.fixture(scope="module")
def many_hosts() -> tuple[fc.Calibration, pl.DataFrame]:
    """30 micro hosts with 1 to 3 sessions each (their hours on the plan's lattice)."""
    rng = np.random.default_rng(8)
    truths = [syn.draw_truth(Tier.MICRO, 30, rng)]
    counts = {h: 1 + i % 3 for i, h in enumerate(truths[0].hosts)}
    plan = syn.session_plan(truths, counts, rng)
    history = syn.synthetic_history(truths, plan, seed=4)
    return fc.calibrate(history, seed=1, draws=200), history


def test_a_page_of_many_hosts_draws_the_busiest_and_tables_the_rest(
    many_hosts: tuple[fc.Calibration, pl.DataFrame],
) -> None:
    cal, history = many_hosts
    table = cal.predict(history, seed=1, draws=200)
    page = calibration_page.render(cal, table)
    cap = calibration_page.MAX_HOST_FIGURES
    assert page.count("<img") == cap + 1  # the drawn hosts and the PIT histograms
    drawn = calibration_page.drawn_hosts(table, list(cal.hosts))
    sessions = history.group_by("influencer").len()
    busiest = dict(sessions.iter_rows())
    assert min(busiest[h] for h in drawn) >= max(busiest[h] for h in cal.hosts if h not in drawn)
    assert f"{cap} of 30 hosts are drawn" in page
    for h in cal.hosts:
        assert h in page  # every host named: a figure or a table row


def test_a_fit_too_large_is_refused_before_any_work(
    many_hosts: tuple[fc.Calibration, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hosts, sessions and the shapes' preparation are each bounded; the refusal is one line
    naming the column or the count and the limit, and comes before the fit starts."""
    _, history = many_hosts
    started: list[int] = []
    monkeypatch.setattr(calibrate_module, "_fit_tier", lambda *a, **k: started.append(1))
    for name, limit, message in (
        ("MAX_FIT_HOSTS", 29, "column influencer: 30 hosts is not allowed; a fit takes at most 29"),
        ("MAX_FIT_SESSIONS", 50, f"{history.height} sessions is not allowed; a fit takes at most"),
    ):
        monkeypatch.setattr(calibrate_module, name, limit)
        with pytest.raises(fc.HistoryError) as err:
            fc.calibrate(history)
        assert message in str(err.value) and "\n" not in str(err.value)
        monkeypatch.undo()
        monkeypatch.setattr(calibrate_module, "_fit_tier", lambda *a, **k: started.append(1))
    monkeypatch.setattr(observation, "MAX_SHAPE_WORK", 10)
    with pytest.raises(fc.HistoryError, match=r"distinct session shapes .* at most 10"):
        fc.calibrate(history)
    assert not started


def test_shape_work_counts_each_shape_once_by_its_products() -> None:
    work, shapes = observation.shape_work(
        ["mid", "mid", "mid", "mega"], [2.0, 2.0, 3.0, 2.0], [50, 50, 1000, 50]
    )
    assert shapes == 3 and work == 1.0 + 10.0 + 1.0


def test_predict_refuses_a_tier_the_fit_contradicts_and_a_seed_out_of_range(
    many_hosts: tuple[fc.Calibration, pl.DataFrame], tmp_path: Path
) -> None:
    cal, _ = many_hosts
    host = next(iter(cal.hosts))
    asked = pl.DataFrame({"influencer": [host], "tier": ["mega"], "hours": [3.0]})
    with pytest.raises(fc.HistoryError) as err:
        cal.predict(asked)
    assert f"'mega' is not allowed for influencer {host!r}" in str(err.value)
    assert "fitted it as 'micro'" in str(err.value)
    same = asked.with_columns(pl.lit("micro").alias("tier"))
    for seed in (-1, 2**64, 1.5):
        with pytest.raises(ValueError, match=r"predict: seed = .* is not allowed; must be a whole"):
            cal.predict(same, seed=seed)  # type: ignore[arg-type]
    table = cal.predict(same, seed=2**64 - 1, draws=50)
    quantiles = [c for c in table.columns if c.startswith("p") and c[1:].isdigit()]
    assert table.select(pl.all_horizontal(pl.col(quantiles).is_finite()).all()).item()


@pytest.mark.parametrize("command", ["run", "compare", "calibrate", "predict", "optimize"])
def test_every_command_takes_the_same_seed_range(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--seed -1, 2**64 and 1e30 are refused by every command in one line that states the
    range, before anything is read (exit 2)."""
    for bad in ("-1", str(2**64), "1e30", "x"):
        assert main([command, "a", "b", "--seed", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"argument --seed: {bad!r} is not allowed; a whole number in [0, 2**64)" in err


def test_predictive_never_writes_a_number_that_is_not_finite(
    many_hosts: tuple[fc.Calibration, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should any draw leave a predictive without finite quantiles, predict raises naming
    the session and output instead of writing NaN."""
    cal, history = many_hosts
    real = predictive.simulate_sessions

    def broken(*args: object, **kw: object) -> dict[str, np.ndarray]:
        out = real(*args, **kw)  # type: ignore[arg-type]
        out["avg_stay_s"][0] = np.nan
        return out

    monkeypatch.setattr(predictive, "simulate_sessions", broken)
    with pytest.raises(ValueError, match=r"session 1 .* output avg_stay_s: the predictive has no"):
        cal.predict(history.head(2), draws=50)
