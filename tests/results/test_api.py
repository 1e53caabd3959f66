"""forecast.run and Forecast: tables, summary conventions, provenance, Parquet round trip."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast import examples
from forecast.results.summary import tail_risk
from tests.conftest import micro_then_mega

PATH_COLUMNS = {
    "views",
    "orders",
    "units",
    "gmv",
    "returns",
    "net_sales",
    "fees",
    "commission",
    "cost",
    "profit",
    "roi",
}


def test_tables_have_the_promised_columns_and_add_up() -> None:
    s = micro_then_mega()
    r = fc.run(s, paths=200, seed=1)
    assert PATH_COLUMNS <= set(r.paths.columns)
    assert r.paths.height == 200
    assert r.sessions.height == 200 * 3
    assert {"path", "session", "label", "views", "likes", *PATH_COLUMNS - {"roi"}} <= set(
        r.sessions.columns
    )
    assert r.sessions["label"].unique(maintain_order=True).to_list() == ["amy#0", "bo#0", "star#0"]
    # path rows are the sums of their session rows
    summed = (
        r.sessions.group_by("path")
        .agg(pl.col(c).sum() for c in ("views", "orders", "gmv", "net_sales", "profit", "fees"))
        .sort("path")
    )
    for c in ("views", "orders", "gmv", "net_sales", "profit", "fees"):
        np.testing.assert_allclose(summed[c].to_numpy(), r.paths[c].to_numpy(), rtol=1e-12)
    spend = r.paths["fees"] + r.paths["commission"]
    np.testing.assert_allclose(r.paths["roi"].to_numpy(), (r.paths["profit"] / spend).to_numpy())


def test_summary_conventions() -> None:
    r = fc.run(micro_then_mega(), paths=500, seed=2)
    summ = r.summary()
    assert summ["metric"].to_list()[:3] == ["views", "orders", "units"]
    profit = r.paths["profit"].to_numpy()
    row = summ.filter(pl.col("metric") == "profit").row(0, named=True)
    assert row["mean"] == pytest.approx(profit.mean())
    assert row["mcse"] == pytest.approx(profit.std(ddof=1) / math.sqrt(500))
    assert row["p5"] == pytest.approx(np.quantile(profit, 0.05))
    k = math.ceil(0.05 * 500)
    worst = np.sort(profit)[:k]
    assert row["var95"] == pytest.approx(-worst[-1])
    assert row["cvar95"] == pytest.approx(-worst.mean())
    assert row["p_loss"] == pytest.approx((profit < 0).mean())
    assert summ.filter(pl.col("metric") == "gmv")["var95"].is_null().all()


def test_tail_risk_by_hand() -> None:
    values = np.arange(1.0, 101.0) - 10.0  # -9 .. 90
    var, cvar = tail_risk(values)
    assert var == 5.0  # 5th smallest is -5
    assert cvar == pytest.approx(7.0)  # mean of -9..-5


def test_seed_none_is_drawn_recorded_and_reproducible() -> None:
    s = micro_then_mega()
    r = fc.run(s, paths=50)
    assert r.seed_drawn and isinstance(r.seed, int)
    assert "(drawn)" in str(r)
    again = fc.run(s, paths=50, seed=r.seed)
    assert again.paths.equals(r.paths)
    assert not again.seed_drawn


def test_run_accepts_a_strategy_file() -> None:
    r = fc.run(examples.path("micro_only"), paths=5, seed=3)
    assert r.strategy.name == "micro_only"
    assert r.sessions["label"].n_unique() == 5


def test_parquet_round_trip(tmp_path: Path) -> None:
    s = micro_then_mega()
    r = fc.run(s, paths=120, seed=4)
    f = tmp_path / "out" / "run.parquet"
    r.to_parquet(str(f))
    back = fc.read_parquet(f)
    assert back.paths.equals(r.paths)
    assert back.seed == 4 and back.n_paths == 120 and back.method == "viewer"
    assert back.strategy == r.strategy
    assert back.metadata["strategy_sha256"] == r.metadata["strategy_sha256"]
    assert set(back.metadata["versions"]) >= {"forecast", "numba", "numpy", "polars", "pyarrow"}
    # the session table is rebuilt from the recorded seed and strategy
    assert back.sessions.equals(r.sessions)
    assert back.summary().equals(r.summary())
    assert not list(f.parent.glob(".*tmp"))  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert f.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_parquet_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fc.read_parquet(tmp_path / "missing.parquet")
    other = tmp_path / "other.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(other)
    with pytest.raises(ValueError, match="not a forecast file"):
        fc.read_parquet(other)


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    from forecast.results.io import atomic_write

    f = tmp_path / "keep.parquet"
    f.write_bytes(b"old")

    def broken(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(f, broken)
    assert f.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.parquet"]


def test_strategy_dict_round_trip_of_every_example() -> None:
    for name in examples.NAMES:
        s = fc.load(examples.path(name))
        assert fc.strategy_from_dict(fc.strategy_to_dict(s)) == s
    with pytest.raises(ValueError, match="example = 'nope' is not bundled"):
        examples.path("nope")


def test_import_compiles_nothing() -> None:
    """`import forecast` loads no kernel and no heavy library (each is loaded when used)."""
    import subprocess
    import sys

    heavy = (
        "kernels.viewer",
        "numba",
        "numpy",
        "polars",
        "pyarrow",
        "scipy",
        "matplotlib",
        "tqdm",
        "distributed",
        "optuna",
        "SALib",
        "pandas",
        "tomli_w",
    )
    code = f"import sys, forecast; print(*[m in sys.modules for m in {heavy!r}])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * len(heavy)
