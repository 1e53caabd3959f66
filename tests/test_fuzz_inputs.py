"""Fuzzing of the newer inputs (hypothesis, bounded and derandomized, as `tests/test_fuzz.py`):
past-session tables (CSV and Parquet, then a prediction from a fixed fit), plan spaces and
sensitivity inputs. Every example ends in a clean error (one line, a ValueError of the
project's, or exit 2 on the command line) or a sane result (finite numbers, bounds held),
within a time bound; nothing hangs, crashes inside numpy or writes NaN."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import forecast as fc
from forecast import examples
from forecast.analysis import synthetic as syn
from forecast.analysis.history import MAX_UNITS_PER_VIEW, read_history
from forecast.analysis.inputs import resolve_all
from forecast.analysis.plan_space import load_space
from forecast.model.enums import Tier

#: Examples each test tries (about 10-20 s each here); more with FORECAST_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("FORECAST_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FORECAST_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CELLS = [
    "", "0", "-1", "1", "0.5", "1e-300", "0.001", "0.02", "1e12", "1e308", "nan", "inf",
    "-inf", "NaN", "x", "1,5", "true", "2021-06-01", "2021-13-45", "86400", "48", "49",
    "10000", "10001", "mega", "MICRO", "amateur", "star", " 3 ", "1" + "0" * 40, "5e-324",
]  # fmt: skip

HEADER = "influencer,tier,start,hours,views,products,units,gmv,likes,avg_stay_s"
ROWS = [
    "Li,mega,2021-06-01,5.5,3300000,63,69000,5600000,2500000,100",
    "Li,mega,2021-06-03 20:00,4.0,2100000,50,40000,3400000,1600000,96",
    "Bo,mid,2021-06-02,3.5,1100000,45,,1800000,1760000,",
    "Bo,mid,,3.0,900000,,15000,1300000,,141",
]


@st.composite
def history_text(draw: st.DrawFn) -> str:
    header = HEADER.split(",")
    rows = [r.split(",") for r in ROWS]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cell", "cell", "cell", "drop", "dup", "header"]))
        if kind == "cell" and rows:
            rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, 9))] = draw(
                st.sampled_from(CELLS)
            )
        elif kind == "drop" and rows:
            del rows[draw(st.integers(0, len(rows) - 1))]
        elif kind == "dup" and rows:
            rows.append(list(rows[draw(st.integers(0, len(rows) - 1))]))
        elif kind == "header":
            header[draw(st.integers(0, 9))] = draw(st.sampled_from(["", "Views", "x", "hours"]))
    return "\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n"


@functools.cache
def _fit() -> fc.Calibration:
    """A small fixed fit (2 mega and 2 mid hosts, 6 sessions each)."""
    rng = np.random.default_rng(2)
    truths = [syn.draw_truth(Tier.MEGA, 2, rng), syn.draw_truth(Tier.MID, 2, rng)]
    plan = syn.session_plan(truths, {h: 6 for t in truths for h in t.hosts}, rng)
    return fc.calibrate(syn.synthetic_history(truths, plan, seed=1), seed=1, draws=200)


def _one_line(err: BaseException) -> None:
    assert isinstance(err, ValueError), repr(err)
    text = str(err)
    assert text and "\n" not in text and len(text) <= 1500, text  # a list of keys is long


@SETTINGS
@given(text=history_text(), parquet=st.booleans())
def test_mutated_histories(text: str, parquet: bool, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(text)
    if parquet:  # the same table as Parquet, its columns' types inferred
        try:
            frame = pl.read_csv(path)
        except pl.exceptions.PolarsError:
            return
        path = tmp_path / "s.parquet"
        frame.write_parquet(path)
    started = time.perf_counter()
    try:
        h = read_history(path, outcomes_required=False)
    except Exception as err:
        event("refused")
        _one_line(err)
        return
    event("read")
    f = h.frame
    assert f.get_column("hours").min() >= 1 / 60  # type: ignore[operator]
    for col in ("views", "units", "gmv", "likes", "avg_stay_s", "products"):
        values = f.get_column(col).drop_nulls().to_numpy()
        assert np.all(np.isfinite(values)) and np.all(values >= 0), col
    units, views = f.get_column("units"), f.get_column("views")
    assert not (units > MAX_UNITS_PER_VIEW * views).fill_null(False).any()
    stay, hours = f.get_column("avg_stay_s"), f.get_column("hours")
    assert not (stay > hours * 3600).fill_null(False).any()
    try:
        table = _fit().predict(path, draws=50, seed=1)
    except Exception as err:
        event("prediction refused")
        _one_line(err)
        return
    numbers = table.select(pl.col(pl.Float64)).to_numpy()
    assert np.all(np.isfinite(numbers[~np.isnan(numbers)]))
    quantiles = table.select(pl.col("^p\\d\\d$")).to_numpy()
    assert np.all(np.isfinite(quantiles))
    assert time.perf_counter() - started < 30


SPACE = examples.path("serum_space").read_text()
SPACE_VALUES = [
    "0", "-1", "1", "3", "1e9", "nan", "inf", "[]", "[0.1, 0.1]", "[1e-12]", '"x"',
    "{ low = 0.1, high = 0.5, step = 1e-12 }", "{ low = 0.1, high = 0.5 }",
    "{ low = 1, high = 10000, step = 1 }", "{ low = 0.5, high = 0.1 }", '"pool"', '"any"',
    "64", "65", "true", "[20, 40, 60, 80, 100, 120, 140, 160, 180, 200]",
]  # fmt: skip


@st.composite
def space_text(draw: st.DrawFn) -> str:
    lines = SPACE.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        if "=" in lines[i] and not lines[i].lstrip().startswith("#"):
            key = lines[i].split("=", 1)[0]
            lines[i] = key + "= " + draw(st.sampled_from(SPACE_VALUES))
        elif draw(st.booleans()):
            del lines[i]
    return "\n".join(lines) + "\n"


@SETTINGS
@given(text=space_text())
def test_mutated_plan_spaces(text: str, tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text(text)
    started = time.perf_counter()
    try:
        space = load_space(path)
        size = space.size()
    except Exception as err:
        event("refused")
        _one_line(err)
        return
    event("loaded")
    assert size is None or size >= 0
    assert time.perf_counter() - started < 5  # counted, never listed


INPUT_NAMES = [
    "star.conversion", "star.views_per_hour", "market.trust_penalty", "serum.unit_cost",
    "star#0.discount", "amy.conversion", "nobody.conversion", "star.nothing", "star",
    "market.", ".conversion", "star.tier", "serum.category", "",
]  # fmt: skip
BOUNDS: list[Any] = [
    0.0, -1.0, 0.5, 1.0, 2.0, 1e9, float("nan"), float("inf"), "x", None, [], [1.0],
    {"low": 0.1, "high": 0.2}, {"law": "normal", "mean": 0.1, "sd": 0.0},
]  # fmt: skip


@SETTINGS
@given(
    inputs=st.dictionaries(
        st.sampled_from(INPUT_NAMES),
        st.one_of(
            st.tuples(st.sampled_from(BOUNDS), st.sampled_from(BOUNDS)), st.sampled_from(BOUNDS)
        ),
        max_size=3,
    )
)
def test_mutated_sensitivity_inputs(inputs: dict[str, Any]) -> None:
    strategy = fc.load(examples.path("mega_then_micro"))
    try:
        resolved = resolve_all(strategy, inputs)
    except Exception as err:
        event("refused")
        _one_line(err)
        return
    event("resolved")
    for item in resolved:
        assert np.isfinite([item.low, item.high, item.base]).all()
        assert item.low <= item.high


@pytest.mark.parametrize("step", [1e-12, 1e-6])
def test_a_grid_too_fine_is_refused_before_listing(step: float, tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text(
        SPACE.replace(
            "discount = [0.1, 0.2, 0.3, 0.4]",
            f"discount = {{ low = 0.1, high = 0.5, step = {step} }}",
        )
    )
    with pytest.raises(ValueError) as err:
        load_space(path)
    assert "discount.step" in str(err.value) and "more than the 10,000 a grid may hold" in str(
        err.value
    )
