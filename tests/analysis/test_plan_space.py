"""Plan spaces: the file format, listing and counting plans, the plan -> strategy step, the
objectives, bad spaces in one clear line, and `forecast optimize` end to end (its three
files, the best plan's strategy file run by `forecast run`, exit codes)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast import examples
from forecast.analysis.objective import Objective, cvar_terms
from forecast.analysis.optimize import MAX_PROMOTIONS
from forecast.analysis.plan_space import Plan, load_space
from forecast.cli import main
from forecast.model.strategy_file import strategy_toml
from forecast.results.io import read_metadata
from forecast.results.summary import tail_risk

SPACE = """
name = "tiny_space"
[[products]]
name = "serum"
list_price = 199.0
unit_cost = 40.0
category = "beauty"
[[influencers]]
name = "star"
tier = "mega"
slot_fee = 20000
hours = 2.0
[[influencers]]
name = "amy"
tier = "micro"
hours = 2.0
[[influencers]]
name = "bo"
tier = "micro"
conversion = 0.025
hours = 2.0
[decisions]
max_booked = 2
discount = [0.1, 0.3]
{extra}
[constraints]
{constraints}
"""


def write_space(tmp_path: Path, extra: str = "", constraints: str = "", **subs: str) -> Path:
    text = SPACE.format(extra=extra, constraints=constraints)
    for old, new in subs.items():
        text = text.replace(old, new)
    f = tmp_path / "space.toml"
    f.write_text(text)
    return f


def test_the_bundled_space_reads_and_counts_its_plans() -> None:
    space = load_space(examples.path("serum_space"))
    assert space.name == "serum_launch" and len(space.pool) == 6
    lineups = list(space.lineups())
    assert len(lineups) == 150  # 6 + 30 + 120 orders, less 6 triples over the budget
    assert space.size() == len(list(space.plans())) == 150 * 4 * 3
    assert all(space.fees(lu) <= 160_000 for lu in lineups)
    assert space.search["paths"] == 4000


@pytest.mark.parametrize(
    ("extra", "count"),
    [
        ("", 9 * 2),
        ("discount_per_session = true", 3 * 2 + 6 * 4),
        ('order = "pool"', 6 * 2),
        ("gap_days = [1, 7]", 3 * 2 + 6 * 2 * 2),  # a single session has no gap to choose
        ("assortment = { low = 20, high = 40, step = 10 }", 9 * 2 * 3),
    ],
)
def test_size_counts_what_plans_lists(tmp_path: Path, extra: str, count: int) -> None:
    space = load_space(write_space(tmp_path, extra))
    plans = list(space.plans())
    assert space.size() == len(plans) == count
    assert len({p.key for p in plans}) == count


def test_a_continuous_range_cannot_be_listed_and_goes_to_optuna(tmp_path: Path) -> None:
    subs = {"discount = [0.1, 0.3]": "discount = { low = 0.1, high = 0.4 }"}
    space = load_space(write_space(tmp_path, **subs))
    assert space.size() is None and not space.discrete
    with pytest.raises(ValueError, match="cannot be listed"):
        list(space.plans())
    result = fc.optimize(space, paths=500, seed=1, trials=10)
    # the 10 trials, and any neighbour that took the chosen plan's place after them
    assert result.search == "optuna" and 10 <= result.evaluated <= 10 + MAX_PROMOTIONS
    discounts = set(itertools.chain.from_iterable(result.candidates["discounts"].to_list()))
    assert all(0.1 <= d <= 0.4 for d in discounts) and len(discounts) > 3


def test_a_plan_becomes_its_strategy() -> None:
    space = load_space(examples.path("serum_space"))
    plan = Plan(("amy", "star"), (0.3, 0.3), (40, 40), 3.0)
    s = space.strategy(plan)
    assert [x.influencer.name for x in s.sessions] == ["amy", "star"]
    assert [x.day for x in s.sessions] == [0.0, 3.0]
    assert [x.hours for x in s.sessions] == [3.0, 5.5]
    assert [x.assortment for x in s.sessions] == [40, 40]
    assert all(x.discount(space.products[0]) == 0.3 for x in s.sessions)
    assert [x.label for x in s.sessions] == ["amy#0", "star#0"]  # shared across plans
    assert plan.describe() == "amy, then star; 30 % off; 40 products a stream; 3 days apart"


def test_objectives_parse_and_match_the_summary() -> None:
    assert Objective.parse("cvar99.5").level == pytest.approx(0.995)
    m = Objective.parse("mean_cvar90", weight=2.0)
    assert (m.kind, m.level, m.weight) == ("mean_cvar", 0.9, 2.0)
    rng = np.random.default_rng(3)
    profit = rng.normal(1000.0, 5000.0, 1001)
    terms = cvar_terms(profit, 0.95)
    assert terms.mean() == pytest.approx(tail_risk(profit, 0.95)[1], rel=1e-12)
    table = pl.DataFrame({"profit": profit, "net_sales": profit * 2})
    mc = Objective.parse("mean_cvar95", weight=0.5)
    assert mc.score(table) == pytest.approx(profit.mean() - 0.5 * tail_risk(profit, 0.95)[1])
    assert Objective.parse("cvar95").value(Objective.parse("cvar95").score(table)) == (
        pytest.approx(tail_risk(profit, 0.95)[1])
    )
    for bad in ("cvar", "cvar101", "median_profit", 3):
        with pytest.raises(ValueError, match="objective"):
            Objective.parse(bad)


def test_strategy_toml_round_trips_every_example(tmp_path: Path) -> None:
    names = sorted(p.stem for p in examples.path("mega_only").parent.glob("*.toml"))
    assert len(names) >= 9
    for name in names:
        if name in ("portfolio", "serum_space"):
            continue
        s = fc.load(examples.path(name)).with_market(trust_penalty=0.1)
        f = tmp_path / f"{name}.toml"
        f.write_text(strategy_toml(s, "a header\nof two lines"))
        assert fc.load(f) == s
        assert f.read_text().startswith("# a header\n# of two lines\n")


BAD = [
    ("", {"max_booked = 2": "max_booked = 0"}, "max_booked = 0 is not allowed"),
    ("", {"max_booked = 2": "max_booked = 2\nmin_booked = 3"}, "min_booked = 3"),
    ("", {"discount = [0.1, 0.3]": "discount = [0.1, 1.3]"}, r"discount\[1\] = 1.3"),
    ("", {"discount = [0.1, 0.3]": "discount = []"}, "at least one value"),
    ("", {"discount = [0.1, 0.3]": "discount = { low = 0.5, high = 0.1 }"}, "discount.high"),
    ("", {"discount = [0.1, 0.3]": "discont = [0.1]"}, "did you mean 'discount'"),
    ('order = "random"', {}, "order = 'random' is not allowed; must be one of any, pool"),
    ("assortment = [0]", {}, r"assortment\[0\] = 0"),
    ("discount_per_session = 1", {}, "discount_per_session = 1 .* true or false"),
    (
        "",
        {'hours = 2.0\n[[influencers]]\nname = "amy"': 'hours = 0\n[[influencers]]\nname = "amy"'},
        r"hours\['star'\] = 0 is not allowed",
    ),
    ("", {'tier = "mega"': 'tier = "celebrity"'}, "tier"),
    ("", {}, r"budget = 100.0 .* cheapest candidate costs CNY 3,000"),
]


@pytest.mark.parametrize(("extra", "subs", "message"), BAD)
def test_bad_spaces_are_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: str,
    subs: dict[str, str],
    message: str,
) -> None:
    constraints = "budget = 100" if message.startswith("budget") else ""
    f = write_space(tmp_path, extra, constraints, **subs)
    out = tmp_path / "out"
    assert main(["optimize", str(f), "--out", str(out), "--paths", "500"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("forecast: error: ")
    import re

    assert re.search(message, err), err
    assert not out.exists()


def test_other_bad_requests_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_space(tmp_path)
    cases = [
        (["--objective", "cvar200"], "objective = 'cvar200'"),
        (["--search", "exhaustive", "--trials", "0"], "trials = 0"),
        (["--budget-s", "-1"], "budget_s = -1.0"),
    ]
    for args, message in cases:
        assert main(["optimize", str(f), "--out", str(tmp_path / "o"), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    strategy = examples.path("mega_only")
    assert main(["optimize", str(strategy), "--out", str(tmp_path / "o")]) == 2
    assert "is a strategy file" in capsys.readouterr().err
    assert main(["optimize", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_optimize_writes_its_three_files_and_the_best_plan_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_space(tmp_path)
    out = tmp_path / "best"
    args = ["optimize", str(f), "--out", str(out), "--paths", "1000", "--seed", "3"]
    assert main([*args, "--final-paths", "2000"]) == 0
    text = capsys.readouterr().out
    assert "Best plan of 'tiny_space'" in text and "Why:" in text
    assert {p.name for p in out.iterdir()} == {"best.toml", "candidates.parquet", "optimize.html"}
    table = pl.read_parquet(out / "candidates.parquet")
    assert table.height == 18
    for column in ("lineup", "discounts", "objective", "mcse", "paths", "cvar95", "p_loss"):
        assert column in table.columns
    meta = read_metadata(out / "candidates.parquet")
    assert meta["seed"] == 3 and meta["evaluated"] == 18
    page = (out / "optimize.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "P(best beats it)" in page
    assert main(["run", str(out / "best.toml"), "--paths", "200", "--seed", "1"]) == 0
    assert "profit" in capsys.readouterr().out


def test_ctrl_c_on_the_command_line_writes_the_best_so_far(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from forecast.analysis.evaluate import Evaluator

    calls = {"n": 0}
    real = Evaluator.run

    def run(self: Evaluator, *a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(Evaluator, "run", run)
    out = tmp_path / "best"
    assert (
        main(["optimize", str(write_space(tmp_path)), "--out", str(out), "--paths", "1000"]) == 130
    )
    captured = capsys.readouterr()
    assert "interrupted" in captured.err and "best plan so far" in captured.err
    assert "Interrupted" in (out / "optimize.html").read_text()
    assert fc.load(out / "best.toml").sessions


def test_a_pool_can_hold_calibrated_hosts(tmp_path: Path) -> None:
    """A space file books a host fitted to its past sessions (calibration = ..., host = ...)
    and a new host of a fitted tier, beside a preset."""
    from forecast.analysis import synthetic as syn
    from forecast.model.enums import Tier

    rng = np.random.default_rng(3)
    truths = [syn.draw_truth(Tier.MICRO, 2, rng)]
    plan = syn.session_plan(truths, {h: 20 for t in truths for h in t.hosts}, rng)
    cal = fc.calibrate(syn.synthetic_history(truths, plan, seed=2), seed=1)
    cal.save(tmp_path / "fit.parquet")
    host = next(iter(cal.hosts))
    f = tmp_path / "space.toml"
    f.write_text(
        f"""
name = "fitted"
[[products]]
name = "serum"
list_price = 199.0
unit_cost = 40.0
[[influencers]]
name = "fitted_host"
calibration = "fit.parquet"
host = "{host}"
slot_fee = 2000
hours = 2.0
[[influencers]]
name = "newcomer"
calibration = "fit.parquet"
tier = "micro"
hours = 2.0
[[influencers]]
name = "amy"
tier = "micro"
hours = 2.0
[decisions]
max_booked = 2
"""
    )
    space = load_space(f)
    assert space.influencer("fitted_host") == cal.influencer(
        host, name="fitted_host", slot_fee=2000
    )
    assert space.influencer("fitted_host").host_traffic_sd > 0  # carries its posterior
    result = fc.optimize(space, paths=500, seed=2, final_paths=1000)
    assert result.evaluated == space.size() == 9


def test_a_space_too_large_to_list_is_searched_not_listed() -> None:
    pool = [fc.Influencer.preset("micro", f"m{i}") for i in range(40)]
    space = fc.PlanSpace(pool=pool, products=[fc.Product("s", list_price=10.0)], max_booked=5)
    assert (
        space.lineup_count()
        == 40 * 39 * 38 * 37 * 36 + 40 * 39 * 38 * 37 + 40 * 39 * 38 + 40 * 39 + 40
    )
    assert space.size() is None  # counted, not listed
    with pytest.raises(ValueError, match="too many to list"):
        next(space.plans())
    with pytest.raises(ValueError, match="at most 1,000,000 lineups"):
        fc.optimize(space, search="exhaustive", paths=500, seed=1)
