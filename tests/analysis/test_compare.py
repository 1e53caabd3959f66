"""forecast.analysis.compare: common random numbers, paired differences, ranking, errors, CLI."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast.analysis.compare import variance_ratio
from forecast.cli import main
from tests.conftest import mega_then_micro, micro_then_mega

PATHS = 400


@pytest.fixture(scope="module")
def cmp() -> fc.Comparison:
    return fc.compare({"A": mega_then_micro(), "B": micro_then_mega()}, paths=PATHS, seed=3)


def test_pairwise_matches_hand_computation(cmp: fc.Comparison) -> None:
    row = cmp.pairwise(("net_sales",)).row(0, named=True)
    a = cmp.forecasts["A"].paths["net_sales"].to_numpy()
    b = cmp.forecasts["B"].paths["net_sales"].to_numpy()
    d = a - b
    se = d.std(ddof=1) / math.sqrt(PATHS)
    assert row["strategy_a"] == "A" and row["strategy_b"] == "B"
    assert row["mean_diff"] == pytest.approx(d.mean())
    assert row["se"] == pytest.approx(se)
    assert row["ci_low"] == pytest.approx(d.mean() - 1.959963984540054 * se)
    p = (d > 0).mean() + 0.5 * (d == 0).mean()
    assert row["p_a_beats_b"] == pytest.approx(p)
    score = (d > 0) + 0.5 * (d == 0)  # a path's score: its spread is P's Monte Carlo error
    assert row["p_mcse"] == pytest.approx(score.std(ddof=1) / math.sqrt(PATHS))
    if not (d == 0).any():  # without ties, the binomial form
        assert row["p_mcse"] == pytest.approx(math.sqrt(p * (1 - p) / (PATHS - 1)))
    # every money metric by default, one row per pair and metric
    assert cmp.pairwise().height == 7


def test_ties_are_split() -> None:
    s = mega_then_micro()
    c = fc.compare({"x": s, "y": s}, paths=50, seed=1)
    row = c.pairwise(("net_sales",)).row(0, named=True)
    assert row["mean_diff"] == 0.0 and row["p_a_beats_b"] == 0.5
    assert row["p_mcse"] == 0.0 and row["se"] == 0.0  # every path ties: no Monte Carlo error


def test_one_path_leaves_the_error_columns_out() -> None:
    """With one path no standard error exists: the columns are left out, never NaN."""
    s = mega_then_micro()
    c = fc.compare({"x": s, "y": micro_then_mega()}, paths=1, seed=1)
    table = c.pairwise()
    assert not {"se", "ci_low", "ci_high", "p_mcse"} & set(table.columns)
    numbers = table.select(pl.col(pl.Float64))
    assert numbers.select(pl.all().is_nan().any()).row(0) == (False,) * numbers.width
    summary = c.summary()
    assert summary.get_column("mcse").null_count() == summary.height  # null, never NaN
    assert not summary.select(pl.col(pl.Float64).is_nan().any()).row(0).count(True)


def test_common_random_numbers_share_sessions_and_cut_variance(cmp: fc.Comparison) -> None:
    # the star's session is the first of A and the last of B: same traffic, same views
    sa = cmp.forecasts["A"].sessions.filter(pl.col("label") == "star#0")
    sb = cmp.forecasts["B"].sessions.filter(pl.col("label") == "star#0")
    np.testing.assert_array_equal(sa["views"].to_numpy(), sb["views"].to_numpy())
    np.testing.assert_array_equal(sa["traffic"].to_numpy(), sb["traffic"].to_numpy())
    indep = fc.compare(
        {"A": mega_then_micro(), "B": micro_then_mega()},
        paths=PATHS,
        seed=3,
        common_random_numbers=False,
    )
    assert not np.array_equal(
        indep.forecasts["A"].sessions.filter(pl.col("label") == "star#0")["views"].to_numpy(),
        sb["views"].to_numpy(),
    )
    # independent streams: Var(A - B) = Var A + Var B; paired: only what differs. The ratio is
    # about 0.005 here; 0.3 leaves a margin far beyond its sampling error at 400 paths.
    assert variance_ratio(cmp, indep, "A", "B") < 0.3


def test_ranking_by_each_objective(cmp: fc.Comparison) -> None:
    means = {n: f.paths["profit"].mean() for n, f in cmp.forecasts.items()}
    r = cmp.ranking()
    assert r["strategy"].to_list() == sorted(means, key=lambda n: -means[n])  # type: ignore[arg-type, operator]
    assert r["rank"].to_list() == [1, 2]
    s = {"A": mega_then_micro(), "B": micro_then_mega()}
    for objective in ("cvar95", "p_loss"):
        c = fc.compare(s, paths=PATHS, seed=3, objective=objective)
        values = c.ranking()["value"].to_list()
        assert values == sorted(values)  # lower is better
    c = fc.compare(s, paths=PATHS, seed=3, objective=lambda paths: -paths["orders"].mean())
    values = c.ranking()["value"].to_list()
    assert values == sorted(values, reverse=True)
    assert c.ranking()["objective"][0] == "<lambda>"


def test_summary_has_every_strategy(cmp: fc.Comparison) -> None:
    s = cmp.summary()
    assert s["strategy"].unique(maintain_order=True).to_list() == ["A", "B"]
    assert s.height == 2 * 11


def test_bad_compare_input() -> None:
    s = mega_then_micro()
    with pytest.raises(ValueError, match=re.escape("needs at least two strategies")):
        fc.compare({"only": s}, paths=5, seed=1)
    with pytest.raises(ValueError, match="names must be distinct"):
        fc.compare([s, s], paths=5, seed=1)
    with pytest.raises(ValueError, match="objective = 'max_fun' is not allowed; must be one of"):
        fc.compare({"a": s, "b": micro_then_mega()}, paths=5, seed=1, objective="max_fun")


def test_cli_compare(capsys: pytest.CaptureFixture[str]) -> None:
    from forecast import examples

    files = [str(examples.path("micro_only")), str(examples.path("micro_then_mega"))]
    assert main(["compare", *files, "--paths", "20", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "ranking by mean_profit" in out and "p_a_beats_b" in out
    assert "micro_only" in out and "micro_then_mega" in out
    done = subprocess.run(
        [sys.executable, "-m", "forecast.cli", "compare", files[0]], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "forecast: error: compare: strategies = ['micro_only'] is not allowed; "
        "needs at least two strategies"
    )


def test_compare_accepts_files(tmp_path: Path) -> None:
    from forecast import examples

    c = fc.compare(
        [examples.path("micro_only"), examples.path("micro_only").parent / "micro_then_mega.toml"],
        paths=3,
        seed=2,
    )
    assert c.names == ["micro_only", "micro_then_mega"]
