"""Fuzzing of strategy files through the command line (hypothesis, bounded and derandomized, so
CI sees the same examples every run; `EXAMPLES` for a longer search): a mutated file either
gives exit 2 with one error line, or a sane table: finite numbers, no negative count or
amount but profit, and the money identities. Mutations replace a value with one from a pool
of troublesome values, delete or duplicate a line, or add a known key with such a value.

Runs use the cohort kernel (``--method cohort``): a mutation that makes a strategy need the
per-viewer kernel is then a one-line refusal, and no example can turn into minutes of per-
viewer work (that kernel's cost is bounded in `forecast.engine.limits` and tested in
tests/test_hardening.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import forecast as fc
from forecast import examples
from forecast.cli import main
from forecast.engine.tables import MONEY_COLUMNS

SOURCES = {
    name: examples.path(name).read_text()
    for name in ("one_mid_influencer", "mega_then_micro", "micro_only")
}

VALUES = [
    "0",
    "-1",
    "1",
    "0.5",
    "1e308",
    "-1e308",
    "5e-324",
    "1e30",
    "nan",
    "inf",
    "-inf",
    "1" + "0" * 400,
    str(2**63),
    str(2**64),
    "true",
    '""',
    '"x"',
    '"beuaty"',
    '"mega"',
    '"video"',
    '"voucher"',
    "[]",
    "[1, 2]",
    '["serum"]',
    '[["serum"]]',
    "{}",
    "{ a = 1 }",
    "1979-05-27",
    "12:30:00",
    '"' + "z" * 5000 + '"',
    "[" * 60 + "]" * 60,
    "3.0e2",
    "0.999999",
    "100000",
    "48",
    "49",
    "365",
    "-0.0",
]

KEYS = [
    "views_per_hour",
    "traffic_sigma",
    "followers",
    "shared_share",
    "dwell_mean_s",
    "dwell_shape",
    "conversion",
    "likes_per_minute",
    "slot_fee",
    "commission_rate",
    "assortment",
    "categories",
    "hours",
    "day",
    "discount",
    "list_price",
    "unit_cost",
    "category",
    "return_rate",
    "units_per_order",
    "kind",
    "format",
    "days",
    "episode",
    "positions",
    "fit",
    "label",
    "gift_value_mean",
    "gift_value_cv",
    "video_views",
    "traffic_noise",
    "burst_lift",
    "bin_minutes",
    "trust_penalty",
    "shared_audience",
    "conversion_flop_prob",
    "conversion_flop_mean",
    "traffic_hit_mean",
    "stay_sigma",
    "host_traffic_sd",
    "host_stay_sd",
    "session_effects",
    "host_uncertainty",
    "corr_traffic_engagement",
    "stay_step",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = SOURCES[draw(st.sampled_from(sorted(SOURCES)))]
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["value", "value", "delete", "duplicate", "insert"]))
        value = draw(st.sampled_from(VALUES))
        if kind == "value" and "=" in lines[i] and not lines[i].lstrip().startswith("#"):
            lines[i] = lines[i].split("=", 1)[0] + "= " + value
        elif kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        else:
            lines.insert(i + 1, f"{draw(st.sampled_from(KEYS))} = {value}")
        if not lines:
            lines = ["x = 1"]
    return "\n".join(lines) + "\n"


def assert_sane(frame: pl.DataFrame) -> None:
    for name, column in frame.to_dict().items():
        if column.dtype.is_numeric():
            values = column.drop_nulls().cast(pl.Float64).to_numpy()
            assert np.all(np.isfinite(values)), name
            if name not in ("profit", "roi"):
                assert np.all(values >= 0), name
    money = frame.select(MONEY_COLUMNS)
    scale = 1.0 + np.abs(money.to_numpy()).max()
    net = frame["gmv"] - frame["returns"]
    assert np.allclose(net.to_numpy(), frame["net_sales"].to_numpy(), atol=1e-9 * scale)
    profit = frame["net_sales"] - frame["commission"] - frame["fees"] - frame["cost"]
    assert np.allclose(profit.to_numpy(), frame["profit"].to_numpy(), atol=1e-9 * scale)


#: Examples a run tries: 400 in CI (about 15 s); ``FORECAST_FUZZ_EXAMPLES=20000`` and
#: ``FORECAST_FUZZ_RANDOM=1`` for a longer, randomized search.
EXAMPLES = int(os.environ.get("FORECAST_FUZZ_EXAMPLES", "400"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FORECAST_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated())
def test_mutated_strategy_files(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "fuzz.toml"
    f.write_text(text)
    out = tmp_path / "fuzz.parquet"
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    code = main(
        ["run", str(f), "--paths", "64", "--seed", "1", "--method", "cohort", "--out", str(out)]
    )
    took = time.perf_counter() - started
    err = capsys.readouterr().err
    event(f"exit {code}")
    assert took < 60, f"took {took:.0f} s"
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("forecast: error: "), err
        assert len(lines[0]) <= 700
        assert not out.exists()
    else:
        assert code == 0, err
        assert_sane(fc.read_parquet(out).paths)
