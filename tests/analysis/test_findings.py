"""The findings of MODEL.md (1-7) on the default parameters, each built on
`forecast.analysis.compare`, each with a companion showing the effect is gone when its
parameter is zero.

Findings 1-4 run the bundled examples at full scale (the mega session has a median 3.3 M
views), 200 paths, seed fixed. Findings 5-7 compare one session with itself under a changed
discount, category count or assortment. These are ratios that do not depend on reach, so the
mega session is scaled to a tenth of its views to keep the suite fast.

The market factor is off (`example`: it moves all strategies together and is no finding);
everything else is the default. They run the per-viewer kernel, whose common random numbers
pair the same viewers across strategies, so that effects of 1 % show path by path; the
cohort kernel has the same distributions (tests/engine/test_cohort.py) but shares only the
traffic draw across strategies whose carried state differs.

Tolerances: where common random numbers make a statement exact on every path (a parameter
at zero leaves the draws and probabilities unchanged), the test asserts equality. Otherwise
it uses paired statistics. "P(A beats B) > 0.95" is asserted on the estimate, whose Monte
Carlo error at 200 paths is about 0.01 when the true value is near 0.98 (false failure about
0.1 %). Differences between tiers must exceed 4.5 standard errors (false failure 7e-6 each).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast import examples
from tests.stats import Z

PATHS = 200
SEED = 2024
MIX = ("mega_only", "micro_only", "mega_then_micro", "micro_then_mega")

pytestmark = pytest.mark.slow


def example(name: str, **market: Any) -> fc.Strategy:
    """A bundled example without the market factor: the findings compare one session in two
    strategies that hold it in different weeks (the star on day 0 alone, on day 8 after the
    smaller hosts), and the market of two weeks differs by as much as a finding, on the
    scale of the whole market, not of the effect; the market moves every strategy together
    and is no part of any finding. The hosts' drift stays on (keyed by each host's k-th
    session, it pairs)."""
    return fc.load(examples.path(name)).with_market(**{"market_factor": 0.0, **market})


#: Paths for companions asserting exact equality on every path (few paths suffice).
EXACT_PATHS = 30


def mix(paths: int = PATHS, names: tuple[str, ...] = MIX, **market: Any) -> fc.Comparison:
    return fc.compare(
        {n: example(n, **market) for n in names}, paths=paths, seed=SEED, method="viewer"
    )


@pytest.fixture(scope="module")
def defaults() -> fc.Comparison:
    return mix()


@pytest.fixture(scope="module")
def no_state() -> fc.Comparison:
    return mix(EXACT_PATHS, trust_penalty=0.0, saturation=0.0)


def session_metric(c: fc.Comparison, strategy: str, label: str, metric: str) -> np.ndarray:
    s = c.forecasts[strategy].sessions.filter(pl.col("label") == label).sort("path")
    return s[metric].to_numpy()


def micro_labels(c: fc.Comparison) -> list[str]:
    return [x.label or "" for x in c.forecasts["micro_only"].strategy.sessions]


def micro_total(c: fc.Comparison, strategy: str, metric: str) -> np.ndarray:
    return sum(session_metric(c, strategy, lab, metric) for lab in micro_labels(c))  # type: ignore[return-value]


def p_beats(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    return float((d > 0).mean() + 0.5 * (d == 0).mean())


# ---- finding 1: a mega influencer sells less of a product a smaller one promoted earlier


def test_finding1_mega_sells_less_after_smaller(defaults: fc.Comparison) -> None:
    alone = session_metric(defaults, "mega_only", "star#0", "net_sales")
    after = session_metric(defaults, "micro_then_mega", "star#0", "net_sales")
    # 0.92 measured: the typical smaller host of the random sample (25 k views a session,
    # edition 2026-12) sends fewer viewers on to the star than the assumed one did (60 k,
    # 0.97); on the other paths the two tie (no viewer of theirs reaches the star). Its
    # Monte Carlo error at 200 paths is 0.02: 0.85 is 3.5 of them below
    assert p_beats(alone, after) > 0.85
    d = alone - after
    assert d.mean() > Z * d.std(ddof=1) / math.sqrt(d.size)
    # the trust penalty is at work on almost every path (not all: on a path where the
    # smaller hosts draw a tiny audience, none of their viewers reaches the star)
    penalized = session_metric(defaults, "micro_then_mega", "star#0", "penalized")
    assert (penalized > 0).mean() > 0.9


def test_finding1_companion_trust_alone_produces_it(no_state: fc.Comparison) -> None:
    # no trust penalty and no saturation: the mega session is the same on every path
    alone = session_metric(no_state, "mega_only", "star#0", "net_sales")
    after = session_metric(no_state, "micro_then_mega", "star#0", "net_sales")
    np.testing.assert_array_equal(alone, after)
    # trust penalty on, saturation off: fewer orders on every path (integer counts, exact)
    only_trust = mix(60, ("mega_only", "micro_then_mega"), saturation=0.0)
    a = session_metric(only_trust, "mega_only", "star#0", "orders")
    b = session_metric(only_trust, "micro_then_mega", "star#0", "orders")
    assert (a >= b).all() and a.sum() > b.sum()


# ---- finding 2: a smaller influencer does not sell less when the mega went first


def test_finding2_no_reverse_trust_effect(defaults: fc.Comparison) -> None:
    for lab in micro_labels(defaults):
        assert session_metric(defaults, "mega_then_micro", lab, "penalized").sum() == 0
    # the only loss is repeat buyers (saturation): under 3 % of the smaller ones' sales
    after = micro_total(defaults, "mega_then_micro", "net_sales").mean()
    alone = micro_total(defaults, "micro_only", "net_sales").mean()
    assert after > 0.97 * alone


def test_finding2_companion_without_repeat_buyers_identical() -> None:
    c = mix(EXACT_PATHS, ("micro_only", "mega_then_micro"), saturation=0.0)
    for lab in micro_labels(c):
        np.testing.assert_array_equal(
            session_metric(c, "micro_only", lab, "net_sales"),
            session_metric(c, "mega_then_micro", lab, "net_sales"),
        )


# ---- finding 3: mega first, then smaller ones, beats the reverse order


def test_finding3_mega_first_beats_reverse(defaults: fc.Comparison) -> None:
    row = (
        defaults.pairwise(("net_sales",))
        .filter(
            (pl.col("strategy_a") == "mega_then_micro")
            & (pl.col("strategy_b") == "micro_then_mega")
        )
        .row(0, named=True)
    )
    # 0.90 measured (0.97 with the assumed smaller hosts of edition 2026-11, see finding 1);
    # Monte Carlo error 0.02 at 200 paths
    assert row["p_a_beats_b"] > 0.85
    assert row["ci_low"] > 0


def test_finding3_companion_order_irrelevant_without_trust_penalty() -> None:
    c = mix(100, ("mega_then_micro", "micro_then_mega"), trust_penalty=0.0)
    row = c.pairwise(("net_sales",)).row(0, named=True)
    assert abs(row["mean_diff"]) < Z * row["se"]


# ---- finding 4: mega and smaller together sell less than the sum of each alone


@pytest.mark.parametrize("together", ["mega_then_micro", "micro_then_mega"])
def test_finding4_mix_is_subadditive(defaults: fc.Comparison, together: str) -> None:
    f = defaults.forecasts
    # exact: no session of the mix sells more orders than on its own, on any path
    for alone in ("mega_only", "micro_only"):
        for label in f[alone].sessions["label"].unique():
            assert (
                session_metric(defaults, together, label, "orders")
                <= session_metric(defaults, alone, label, "orders")
            ).all()
    # in money: the paired shortfall of the mix is positive beyond 4.5 standard errors
    separate = (f["mega_only"].paths["net_sales"] + f["micro_only"].paths["net_sales"]).to_numpy()
    shortfall = separate - f[together].paths["net_sales"].to_numpy()
    assert shortfall.mean() > Z * shortfall.std(ddof=1) / math.sqrt(shortfall.size)
    if together == "micro_then_mega":
        # where the trust penalty acts, the mix falls short on almost every path; mega first,
        # only the few repeat buyers are lost and many paths tie
        # 0.92 measured (fewer of the smaller hosts' viewers reach the star, finding 1)
        assert p_beats(separate, separate - shortfall) > 0.85


def test_finding4_companion_additive_without_state(no_state: fc.Comparison) -> None:
    f = no_state.forecasts
    separate = (
        f["mega_only"].paths["net_sales"].to_numpy() + f["micro_only"].paths["net_sales"].to_numpy()
    )
    for together in ("mega_then_micro", "micro_then_mega"):
        np.testing.assert_allclose(f[together].paths["net_sales"].to_numpy(), separate, rtol=1e-12)


# ---- findings 5-7: tier-specific sensitivity to discount, categories, assortment


def one_session(tier: str, scale: float, **session: Any) -> fc.Strategy:
    name = "mega_only" if tier == "mega" else "micro_only"
    s = fc.load(examples.path(name)).sessions[0]
    inf = s.influencer.replace(views_per_hour=s.influencer.views_per_hour * scale)
    return fc.Strategy([s.replace(influencer=inf, **session)], name=f"{tier} {session}")


def relative_change(
    c: fc.Comparison, new: str, old: str, num: str, den: str | None = None
) -> tuple[float, float]:
    """(change, standard error) of sum(num)/sum(den) from ``old`` to ``new`` (den None: the
    ratio of sums of ``num``), by a paired bootstrap over paths (400 resamples, fixed seed)."""
    a, b = c.forecasts[new].paths, c.forecasts[old].paths
    an, bn = a[num].to_numpy().astype(float), b[num].to_numpy().astype(float)
    ad = a[den].to_numpy().astype(float) if den else np.ones_like(an)
    bd = b[den].to_numpy().astype(float) if den else np.ones_like(bn)

    def stat(i: np.ndarray) -> float:
        return float((an[i].sum() / ad[i].sum()) / (bn[i].sum() / bd[i].sum()) - 1.0)

    rng = np.random.default_rng(0)
    n = an.size
    boot = [stat(rng.integers(0, n, n)) for _ in range(400)]
    return stat(np.arange(n)), float(np.std(boot, ddof=1))


TIER_CASES = {
    # finding: (parameter, session change per tier, numerator, denominator, sign of effect)
    "5 discount": (
        "discount_sensitivity",
        {"mega": {"discounts": {"serum": 0.5}}, "micro": {"discounts": {"serum": 0.5}}},
        "units",
        None,
        +1,
    ),
    "6 categories": (
        "category_sensitivity",
        {"mega": {"categories": 12}, "micro": {"categories": 4}},
        "units",
        None,
        -1,
    ),
    "7 assortment": (
        "assortment_sensitivity",
        {"mega": {"assortment": 126}, "micro": {"assortment": 40}},
        "orders",
        "exposures",
        -1,
    ),
}


def tier_comparison(case: str, **market: Any) -> dict[str, tuple[float, float]]:
    _, changes, num, den, _ = TIER_CASES[case]
    out = {}
    for tier, scale in (("mega", 0.1), ("micro", 1.0)):
        base = one_session(tier, scale)
        changed = one_session(tier, scale, **changes[tier])
        if market:
            base, changed = base.with_market(**market), changed.with_market(**market)
        c = fc.compare(
            {"changed": changed, "base": base}, paths=PATHS * 2, seed=SEED, method="viewer"
        )
        out[tier] = relative_change(c, "changed", "base", num, den)
    return out


@pytest.mark.parametrize("case", list(TIER_CASES))
def test_findings5to7_effect_larger_for_mega(case: str) -> None:
    sign = TIER_CASES[case][4]
    r = tier_comparison(case)
    (mega, se_mega), (micro, se_micro) = r["mega"], r["micro"]
    assert sign * mega > 0
    assert sign * (mega - micro) > Z * math.hypot(se_mega, se_micro), r


@pytest.mark.parametrize("case", list(TIER_CASES))
def test_findings5to7_companion_gone_at_zero(case: str) -> None:
    param = TIER_CASES[case][0]
    r = tier_comparison(case, **{param: {"mega": 0.0, "mid": 0.0, "micro": 0.0}})
    for tier, (change, se) in r.items():
        if case == "7 assortment":
            # slots change with the assortment, so exposures do: conversion per exposure stays
            assert abs(change) < Z * se + 1e-12, (tier, change, se)
        else:
            assert change == 0.0, (tier, change)  # same draws, same probabilities: exact
