"""Bad input: a ValueError naming the field, the value and what is allowed."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

import forecast as fc
from tests.conftest import SERUM, tiny_influencer


def star() -> fc.Influencer:
    return fc.Influencer.preset("mega", "star")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"list_price": -5.0},
            "product 'x': list_price = -5.0 is not allowed; must be in (0, 1e+07]",
        ),
        (
            {"list_price": math.nan},
            "product 'x': list_price = nan is not allowed; must be a finite number",
        ),
        (
            {"list_price": math.inf},
            "product 'x': list_price = inf is not allowed; must be a finite number",
        ),
        (
            {"list_price": 10.0, "discount": 1.0},
            "product 'x': discount = 1.0 is not allowed; must be in [0, 1)",
        ),
        (
            {"list_price": 10.0, "discount": -0.1},
            "product 'x': discount = -0.1 is not allowed; must be in [0, 1)",
        ),
        (
            {"list_price": 10.0, "return_rate": 1.5},
            "product 'x': return_rate = 1.5 is not allowed; must be in [0, 1]",
        ),
        (
            {"list_price": 10.0, "unit_cost": -1},
            "product 'x': unit_cost = -1 is not allowed; must be in [0, 1e+07]",
        ),
        ({"list_price": "ten"}, "product 'x': list_price = 'ten' is not allowed; must be a number"),
    ],
)
def test_bad_product(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        fc.Product("x", **kwargs)


@pytest.mark.parametrize(
    ("overrides", "field", "allowed"),
    [
        ({"conversion": 1.2}, "conversion", "must be in [0, 1]"),
        ({"shared_share": -0.5}, "shared_share", "must be in [0, 1]"),
        ({"commission_rate": math.nan}, "commission_rate", "must be a finite number"),
        ({"views_per_hour": math.inf}, "views_per_hour", "must be a finite number"),
        ({"followers": 0}, "followers", "must be a whole number [1, 10,000,000,000]"),
        ({"dwell_shape": 1.0}, "dwell_shape", "must be in (1, 20]"),
    ],
)
def test_bad_influencer(overrides: dict[str, Any], field: str, allowed: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"influencer 'star': {field} = ")) as err:
        fc.Influencer.preset("mega", "star", **overrides)
    assert allowed in str(err.value)


def test_unknown_tier_and_unknown_preset_field() -> None:
    with pytest.raises(
        ValueError, match=r"tier = 'giga' is not allowed; must be one of mega, mid, micro"
    ):
        fc.Influencer.preset("giga", "x")
    with pytest.raises(
        ValueError, match=r"influencer 'x': folowers = 3 is not allowed; unknown field"
    ):
        fc.Influencer.preset("micro", "x", folowers=3)


def test_bad_market() -> None:
    with pytest.raises(
        ValueError, match=re.escape("market: trust_penalty = 1.5 is not allowed; must be in [0, 1]")
    ):
        fc.MarketParams(trust_penalty=1.5)
    with pytest.raises(ValueError, match=re.escape("market: saturation = -0.1 is not allowed")):
        fc.MarketParams(saturation=-0.1)
    with pytest.raises(ValueError, match=r"discount_sensitivity.*mega, mid, micro"):
        fc.MarketParams(discount_sensitivity={"mega": 1.0})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape("trust_fade_days = 0 is not allowed")):
        fc.MarketParams(trust_fade_days=0)
    assert fc.MarketParams(trust_fade_days=math.inf).trust_fade_days == math.inf


def test_bad_sessions_and_strategy() -> None:
    s = star()
    with pytest.raises(
        ValueError, match=r"products = \(\) is not allowed; must be a non-empty list"
    ):
        fc.Session(s, ())
    for hours in (0, 1e-300, 0.01):  # a session of at least a minute (a physical bound)
        with pytest.raises(ValueError, match=rf"hours = {hours} is not allowed; must be in \[0.01"):
            fc.Session(s, [SERUM], hours=hours)
    assert fc.Session(s, [SERUM], hours=1 / 60).hours == 1 / 60
    for days in (5e-324, 1e-4):  # a video's views counted for at least a minute
        with pytest.raises(ValueError, match=rf"days = {days} is not allowed; must be in \[0.0006"):
            fc.Session(s, [SERUM], format="video", days=days)
    with pytest.raises(ValueError, match=re.escape("discounts['serum'] = 1.2 is not allowed")):
        fc.Session(s, [SERUM], discounts={"serum": 1.2})
    with pytest.raises(ValueError, match="discounts = 'mask' is not allowed; names no product"):
        fc.Session(s, [SERUM], discounts={"mask": 0.1})
    with pytest.raises(ValueError, match=r"positions = .* increasing slot indices"):
        fc.Session(s, [SERUM, SERUM.__class__("b", list_price=2.0)], positions=(3, 1))
    with pytest.raises(ValueError, match="sessions = \\(\\) is not allowed; needs at least one"):
        fc.Strategy(())
    later = fc.Session(s, [SERUM], day=5)
    earlier = fc.Session(tiny_influencer("micro", "amy"), [SERUM], day=2)
    with pytest.raises(
        ValueError, match=r"sessions\[1\].day = 2.0 is not allowed; sessions must be in time order"
    ):
        fc.Strategy([later, earlier])
    other_serum = fc.Product("serum", list_price=150.0)
    with pytest.raises(ValueError, match="a product name must mean the same price"):
        fc.Strategy([fc.Session(s, [SERUM]), fc.Session(s, [other_serum], day=1)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"paths": 0}, "run: paths = 0 is not allowed; must be a whole number [1, 100,000,000]"),
        ({"paths": 2.5}, "run: paths = 2.5 is not allowed; must be a whole number"),
        ({"seed": -1}, "run: seed = -1 is not allowed; must be a whole number in [0, 2**64)"),
        ({"threads": 0}, "run: threads = 0 is not allowed"),
        ({"chunk_paths": 0}, "run: chunk_paths = 0 is not allowed"),
    ],
)
def test_bad_run_arguments(kwargs: dict[str, Any], message: str) -> None:
    strategy = fc.Strategy([fc.Session(star(), [SERUM])])
    args: dict[str, Any] = {"paths": 10} | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        fc.run(strategy, **args)


GOOD = """
name = "ok"
[[products]]
name = "serum"
list_price = 199.0
[[influencers]]
name = "star"
tier = "mega"
[[sessions]]
influencer = "star"
products = ["serum"]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace('products = ["serum"]', 'products = ["serum"]\ndya = 3'),
            "[[sessions]] #1: unknown key 'dya'; did you mean 'day'?",
        ),
        (
            GOOD.replace("list_price", "list_prise"),
            "[[products]] #1: unknown key 'list_prise'; did you mean 'list_price'?",
        ),
        (
            GOOD.replace('name = "ok"', 'name = "ok"\nsesions = []'),
            "unknown key 'sesions'; did you mean 'sessions'?",
        ),
        (
            GOOD.replace('tier = "mega"', 'tier = "giga"'),
            "tier = 'giga' is not allowed; must be one of mega, mid, micro",
        ),
        (
            GOOD.replace("list_price = 199.0", "list_price = -199.0"),
            "list_price = -199.0 is not allowed",
        ),
        (
            GOOD.replace("list_price = 199.0", "list_price = nan"),
            "list_price = nan is not allowed; must be a finite number",
        ),
        (
            GOOD.replace("list_price = 199.0", "list_price = 199.0\ndiscount = 1.5"),
            "discount = 1.5 is not allowed; must be in [0, 1)",
        ),
        (
            GOOD.replace('influencer = "star"', 'influencer = "moon"'),
            "influencer = 'moon' is not defined in [[influencers]] (star)",
        ),
        (
            GOOD.replace('products = ["serum"]', 'products = ["cream"]'),
            "product 'cream' is not defined in [[products]] (serum)",
        ),
        (
            GOOD.replace("[[sessions]]", "[[sessions]]\nday = 4")
            + '[[sessions]]\ninfluencer = "star"\nproducts = ["serum"]\nday = 1\n',
            "sessions must be in time order",
        ),
        (
            'name = "empty"\nsessions = []\n',
            "sessions = () is not allowed; needs at least one session",
        ),
        ("name = 'x'\n[[sessions]\n", "not valid TOML"),
        (
            GOOD.replace('tier = "mega"', 'tier = "mega"\n[market]\ntrust_penalty = 2'),
            "market: trust_penalty = 2 is not allowed; must be in [0, 1]",
        ),
    ],
)
def test_bad_strategy_files(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        fc.load(f)
    assert str(f) in str(err.value)


def test_missing_file() -> None:
    message = "strategy file 'nope.toml' does not exist"
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        fc.load("nope.toml")


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("conversion_sigma", 3.5, "must be in [0, 3]"),
        ("stay_flop_prob", 0.6, "must be in [0, 0.5]"),
        ("engagement_flop_mean", 0.0, "must be in [0.01, 10]"),
        ("traffic_hit_mean", 0.9, "must be in [0.01, 0.45]"),
        ("host_traffic_sd", -0.1, "must be in [0, 3]"),
        ("host_stay_sd", float("inf"), "must be a finite number"),
    ],
)
def test_bad_spread_fields_of_an_influencer(field: str, value: float, allowed: str) -> None:
    """Every session-effect and host-effect field is bounded, and the error names it."""
    with pytest.raises(ValueError, match=re.escape(f"{field} = ") + ".*" + re.escape(allowed)):
        fc.Influencer.preset("mid", "kol", **{field: value})


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("session_effects", 1.5, "must be in [0, 1]"),
        ("host_uncertainty", 4.0, "must be in [0, 3]"),
        ("corr_traffic_engagement", 1.0, "must be in (-1, 1)"),
        ("stay_step", 0.01, "must be in [0.02, 0.5]"),
    ],
)
def test_bad_spread_fields_of_the_market(field: str, value: float, allowed: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{field} = ") + ".*" + re.escape(allowed)):
        fc.MarketParams(**{field: value})


def test_correlations_must_form_a_correlation_matrix() -> None:
    """Each correlation alone may be valid while the three together are not."""
    with pytest.raises(ValueError, match="positive definite"):
        fc.MarketParams(
            corr_traffic_engagement=0.9,
            corr_traffic_conversion=0.9,
            corr_conversion_engagement=-0.9,
        )


def test_a_bad_spread_field_in_a_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from forecast.cli import main

    f = tmp_path / "plan.toml"
    f.write_text(
        '[[products]]\nname = "serum"\nlist_price = 10.0\ncategory = "beauty"\n'
        '[[influencers]]\nname = "kol"\ntier = "mid"\nconversion_flop_prob = 0.9\n'
        '[[sessions]]\ninfluencer = "kol"\nproducts = ["serum"]\n'
        "[market]\nhost_uncertainty = -1\n"
    )
    assert main(["run", str(f), "--paths", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "host_uncertainty = -1" in err[0]
