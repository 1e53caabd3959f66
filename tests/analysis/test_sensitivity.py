"""Sensitivity: inputs the output does not depend on get zero indices inside their
intervals, an input that alone drives it gets a total index near one (strategies built so
that this is known); Morris's effects are the exact slopes; the tornado equals direct runs;
the noise left on common random numbers; inputs from a calibration's posterior; bad inputs
in one line; `forecast sensitivity` writes its files; a report draws a tornado per campaign."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast import examples
from forecast.analysis.inputs import InputError, apply, resolve
from forecast.analysis.sensitivity import sensitivity, tornado
from forecast.cli import main
from tests.conftest import SERUM, tiny_influencer, tiny_market


def mega_first() -> fc.Strategy:
    """A tiny mega host, then a tiny micro host, one product: the trust penalty cannot act
    (the mega session comes first) and gifts go to the influencers, not the brand, so the
    brand's profit depends on the serum's unit cost alone among the inputs below (exactly
    linearly: the units sold do not depend on it)."""
    star = tiny_influencer("mega", "star", views_per_hour=150.0, shared_share=0.8)
    amy = tiny_influencer("micro", "amy", shared_share=0.7)
    return fc.Strategy(
        [fc.Session(star, [SERUM], day=0, hours=2.0), fc.Session(amy, [SERUM], day=2, hours=2.0)],
        tiny_market(),
        "mega first",
    )


INPUTS = {
    "serum.unit_cost": (10.0, 50.0),
    "amy.gift_value_mean": (1.0, 100.0),
    "market.trust_penalty": (0.0, 0.7),
}


@pytest.fixture(scope="module")
def sobol() -> fc.Sensitivity:
    return sensitivity(
        mega_first(), INPUTS, ["mean_profit"], "sobol", paths=500, seed=3, samples=128
    )


def test_sobol_finds_the_one_input_that_drives_the_output(sobol: fc.Sensitivity) -> None:
    """The unit cost alone drives profit: its S1 and ST are 1 but for the estimator's error,
    within 1.5 of their 95 % half-widths (2.9 standard errors: a false failure 0.4 % each,
    under 1 % for both; the seed is fixed). The other two inputs change no output on common
    random numbers, so their indices are 0 exactly, with intervals of width 0."""
    rows = {r["input"]: r for r in sobol.indices.iter_rows(named=True)}
    cost = rows["serum.unit_cost"]
    for key in ("S1", "ST"):
        half = (cost[f"{key}_high"] - cost[f"{key}_low"]) / 2
        assert 0 < half and abs(cost[key] - 1.0) <= 1.5 * half, (key, cost)
    for name in ("amy.gift_value_mean", "market.trust_penalty"):
        r = rows[name]
        assert r["S1"] == r["ST"] == 0.0
        assert r["S1_low"] == r["S1_high"] == r["ST_low"] == r["ST_high"] == 0.0
    assert sobol.evaluations == 128 * 5 + 2 * 3 + 1  # the design (no repeats) and the tornado


def test_morris_effects_are_the_exact_slopes() -> None:
    s = mega_first()
    result = sensitivity(s, INPUTS, ["mean_profit"], "morris", paths=400, seed=3, trajectories=6)
    rows = {r["input"]: r for r in result.indices.iter_rows(named=True)}
    item = resolve(s, "serum.unit_cost", INPUTS["serum.unit_cost"])
    low, high = (
        fc.run(apply(s, [item], [x]), paths=400, seed=3).paths["profit"].mean() for x in (10, 50)
    )
    # profit is linear in the unit cost with the same units kept at every point: every
    # elementary effect is the change over the whole range, so mu* is that and sigma is 0
    swing = abs(high - low)  # type: ignore[operator]
    assert rows["serum.unit_cost"]["mu_star"] == pytest.approx(swing, rel=1e-9)
    assert rows["serum.unit_cost"]["sigma"] == pytest.approx(0.0, abs=1e-6 * swing)
    for name in ("amy.gift_value_mean", "market.trust_penalty"):
        assert rows[name]["mu_star"] == 0.0 and rows[name]["sigma"] == 0.0


def test_the_tornado_equals_direct_runs_at_those_settings() -> None:
    s = fc.load(examples.path("mega_then_micro"))
    inputs = {
        "star.conversion": (0.01, 0.03),
        "star#0.discount": (0.1, 0.4),
        "serum.unit_cost": (30, 50),
    }
    table = tornado(s, inputs, ["mean_profit", "cvar95", "p_loss"], paths=300, seed=9)
    for row in table.iter_rows(named=True):
        item = resolve(s, row["input"], inputs[row["input"]])
        for where, value in (("at_low", row["low_value"]), ("at_high", row["high_value"])):
            f = fc.run(apply(s, [item], [value]), paths=300, seed=9)
            summary = f.summary(("profit",)).row(0, named=True)
            want = {
                "mean_profit": summary["mean"],
                "cvar95": summary["cvar95"],
                "p_loss": summary["p_loss"],
            }
            assert row[where] == pytest.approx(want[row["output"]], rel=1e-12, abs=1e-9)
        base = fc.run(s, paths=300, seed=9).summary(("profit",)).row(0, named=True)
        if row["output"] == "mean_profit":
            assert row["at_base"] == pytest.approx(base["mean"], rel=1e-12)
    top = table.filter(pl.col("output") == "mean_profit").sort("rank")["input"].to_list()
    assert set(top) == set(inputs)


def test_the_noise_left_on_common_random_numbers_is_measured(sobol: fc.Sensitivity) -> None:
    row = sobol.noise.row(0, named=True)
    # the unit cost moves no draw, so the same points on two seeds differ by a constant
    # shift in units x cost... up to the cost's own share: small, and far below what
    # independent streams would leave
    assert 0.0 <= row["noise_share"] < row["independent_share"] <= 1.0
    assert row["replicates"] == 32


def test_a_function_output_and_the_design_table() -> None:
    def median_profit(t: pl.DataFrame) -> float:
        return float(t["profit"].median())  # type: ignore[arg-type]

    result = sensitivity(
        mega_first(), INPUTS, [median_profit, "var95"], paths=300, seed=1, trajectories=4
    )
    assert set(result.indices["output"]) == {"median_profit", "var95"}
    d = result.design
    assert d.height == 4 * 4 and {"serum.unit_cost", "median_profit", "median_profit_mcse"} <= set(
        d.columns
    )
    assert (d["median_profit_mcse"] > 0).all()


def test_one_path_leaves_the_mcse_columns_out() -> None:
    """With one path a run's Monte Carlo error cannot be computed: the design table has no
    MCSE column (never a column of NaN), and every number it has is finite."""
    result = sensitivity(mega_first(), INPUTS, ["mean_profit"], paths=1, seed=1, trajectories=2)
    d = result.design
    assert "mean_profit" in d.columns and "mean_profit_mcse" not in d.columns
    numbers = d.select(pl.col(pl.Float64)).to_numpy()
    assert np.isfinite(numbers).all()


def test_the_same_seed_gives_the_same_indices() -> None:
    a = sensitivity(mega_first(), INPUTS, ["cvar95"], paths=300, seed=5, trajectories=4)
    b = sensitivity(mega_first(), INPUTS, ["cvar95"], paths=300, seed=5, trajectories=4, threads=1)
    assert a.indices.equals(b.indices) and a.design.equals(b.design) and a.tornado is not None
    assert b.tornado is not None and a.tornado.equals(b.tornado)


def test_a_posterior_input_is_the_fitted_hosts_level(tmp_path: Path) -> None:
    from forecast.analysis import synthetic as syn
    from forecast.model.enums import Tier

    rng = np.random.default_rng(3)
    truths = [syn.draw_truth(Tier.MICRO, 2, rng)]
    plan = syn.session_plan(truths, {h: 20 for t in truths for h in t.hosts}, rng)
    cal = fc.calibrate(syn.synthetic_history(truths, plan, seed=2), seed=1)
    name = min(cal.hosts, key=lambda h: cal.influencer(h).conversion)
    host = cal.influencer(name, name="fitted")
    s = fc.Strategy([fc.Session(host, [SERUM], hours=2.0)])
    item = resolve(s, "fitted.conversion", "posterior")
    assert item.law.dist == "lognormal"
    assert item.law.a == host.conversion and item.law.b == host.host_conversion_sd > 0
    changed = apply(s, [item], [item.high])
    assert changed.sessions[0].influencer.host_conversion_sd == 0.0
    assert changed.sessions[0].influencer.conversion == pytest.approx(item.high)
    # a preset carries its tier's between-host spread: 'posterior' is that, there
    star = mega_first().sessions[0].influencer
    assert resolve(mega_first(), "star.conversion", "posterior").law.b == star.host_conversion_sd
    bare = fc.Strategy([fc.Session(star.without_spread(), [SERUM], hours=2.0)])
    with pytest.raises(InputError, match="carries no posterior sd"):
        resolve(bare, "star.conversion", "posterior")


BAD = [
    (["stra.conversion=0.01:0.03"], r"inputs: stra.conversion .*did you mean 'star'"),
    (["star.conversoin=0.01:0.03"], r"did you mean star.conversion"),
    (["star.conversion=0.03:0.01"], r"star.conversion = \[0.03, 0.01\] is not allowed; low"),
    (["star.conversion=0.01:2"], r"star.conversion = 2 .* is not allowed"),
    (["star.conversion=abc"], r"star.conversion = 'abc' is not allowed"),
    (["star.conversion=normal:0.02"], r"a normal law takes MEAN:SD"),
    (["star.slot_fee=posterior"], r"star.slot_fee = 'posterior' is not allowed; a posterior"),
    (["market.discount_sensitivity=1:2"], r"is a tier table"),
    (["market.trust_penalty.mega=0:1"], r"market.trust_penalty is a number, not a tier table"),
    (["star.tier=1:2"], r"'tier' is no numeric influencer field"),
    (["conversion=1:2"], r"an input is named <owner>.<field>"),
]


@pytest.mark.parametrize(("inputs", "message"), BAD)
def test_bad_inputs_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], inputs: list[str], message: str
) -> None:
    out = tmp_path / "out"
    strategy = str(examples.path("mega_then_micro"))
    assert main(["sensitivity", strategy, "--inputs", *inputs, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("forecast: error: "), err
    assert re.search(message, err), err
    assert not out.exists()


def test_other_bad_requests_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = str(examples.path("mega_then_micro"))
    base = [
        "sensitivity",
        strategy,
        "--inputs",
        "star.conversion=0.01:0.03",
        "--out",
        str(tmp_path / "o"),
    ]
    for extra, message in (
        (["--outputs", "cvar200"], "output = 'cvar200'"),
        (["--sa-method", "sobol", "--samples", "100"], "samples = 100 .* power of two"),
        (["--trajectories", "1"], "trajectories = 1"),
    ):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and re.search(message, err), err


def test_the_command_writes_tables_and_a_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    laws = tmp_path / "laws.toml"
    law = '{ dist = "triangular", low = 0.5, mode = 0.9, high = 1.0 }'
    laws.write_text(f'[inputs]\n"market.saturation" = {law}\n')
    out = tmp_path / "sens"
    args = [
        "sensitivity",
        str(examples.path("mega_then_micro")),
        "--inputs",
        "star.conversion=0.01:0.03",
    ]
    args += [str(laws), "--out", str(out), "--paths", "300", "--seed", "2", "--trajectories", "4"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert (
        "Sensitivity of 'mega_then_micro' (morris, 2 inputs" in text and "Monte Carlo noise" in text
    )
    assert {p.name for p in out.iterdir()} == {
        "indices.parquet",
        "tornado.parquet",
        "design.parquet",
        "sensitivity.html",
    }
    indices = pl.read_parquet(out / "indices.parquet")
    assert set(indices["input"]) == {"star.conversion", "market.saturation"}
    page = (out / "sensitivity.html").read_text()
    assert page.count("data:image/png;base64,") == 4  # per output: tornado and bars


def portfolio(directory: Path, tornado: str) -> Path:
    """A portfolio of the bundled mega_only and micro_only with a ``[tornado]`` table."""
    from tests.reporting.portfolios import copy_examples

    copy_examples(directory)
    f = directory / "pf.toml"
    f.write_text(
        'name = "pf"\ncampaigns = ["mega_only.toml", "micro_only.toml"]\nseed = 1\n'
        "paths = 200\n" + tornado
    )
    return f


def test_a_report_draws_a_tornado_per_campaign_that_has_the_inputs(tmp_path: Path) -> None:
    table = (
        '[tornado]\noutput = "mean_profit"\npaths = 200\n[tornado.inputs]\n'
        '"star.conversion" = [0.01, 0.03]\n"serum.unit_cost" = [30.0, 50.0]\n'
    )
    pf = fc.load_portfolio(portfolio(tmp_path, table))
    assert pf.tornado is not None and pf.tornado["paths"] == 200
    assert set(pf.tornado_inputs(pf.campaigns[0])) == {"star.conversion", "serum.unit_cost"}
    assert set(pf.tornado_inputs(pf.campaigns[1])) == {"serum.unit_cost"}
    done = fc.report(pf, tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count('alt="tornado of ') == 2
    assert done.metadata["param_hash"] == pf.param_hash()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tornado.inputs]\n"nobody.conversion" = [0.01, 0.03]\n', "names nothing in any campaign"),
        (
            '[tornado.inputs]\n"star.conversion" = [0.03, 0.01]\n',
            r"campaign 'mega_only': tornado.inputs: star.conversion",
        ),
        ('[tornado]\noutpt = "x"\n', "unknown key"),
    ],
)
def test_a_bad_tornado_input_in_a_portfolio_is_one_line(
    tmp_path: Path, table: str, message: str
) -> None:
    with pytest.raises(fc.PortfolioError, match=message):
        fc.load_portfolio(portfolio(tmp_path, table))
