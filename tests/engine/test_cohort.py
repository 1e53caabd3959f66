"""The cohort kernel: same distributions as the per-viewer kernel, its parts, its edge cases.

Statistical budget. Every comparison of two independent samples uses a Welch z-test of the
means (|z| < 4.5, false failure 6.8e-6) and a two-sample KS test (false failure 1e-5,
asymptotic bound, conservative for discrete outcomes). This file makes at most about 700
such comparisons (tiny strategies: 4 x up to 4 sessions x 20 outputs x 2; examples:
7 x 5 x 2; parts: 20), so a correct kernel fails it with probability below 0.6 % for a
fresh seed. Seeds are fixed, so the outcome is deterministic.

Power. The tiny strategies (small pools, generous conversion) put carried state to work on
every path and run 20,000 paths per kernel: a 1 % shift in a mean outcome is about 5
standard errors there. The bundled examples run at full scale, where the per-viewer kernel
limits the sample (a few hundred paths), so they guard against gross errors only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import forecast as fc
from forecast import examples
from forecast.engine.stay import expected_stay, exposure_patterns, mean_stay
from kernels import layout as L
from tests.conftest import MASK, SERUM, group_buying, one_carried, tiny_influencer, tiny_market
from tests.stats import Z, ks_bound, ks_two_sample, z_two_sample

PATHS = 20_000
OUTPUTS = (*L.COUNT_NAMES, *L.MONEY_NAMES)


def compare_samples(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Both tests; constant samples must be equal constants."""
    a = a.astype(float)
    b = b.astype(float)
    if a.std() == 0 and b.std() == 0:
        assert a[0] == b[0], what
        return
    z = z_two_sample(a, b)
    assert abs(z) < Z, f"{what}: means {a.mean():.5g} vs {b.mean():.5g} (z = {z:.2f})"
    d = ks_two_sample(a, b)
    assert d < ks_bound(a.size, b.size), f"{what}: KS distance {d:.4f}"


# ---- the parts


def test_stay_integral_closed_form() -> None:
    """F0(inf) = alpha (pi / beta) / sin(pi / beta), the log-logistic mean."""
    for alpha, beta in ((0.02, 2.5), (1.0, 1.3), (3.0, 8.0), (0.5, 20.0)):
        mean = alpha * (math.pi / beta) / math.sin(math.pi / beta)
        far = expected_stay(np.array([alpha * 1e12]), alpha, beta)[0]
        tail = alpha * (1e12) ** (1 - beta) / (beta - 1)  # what lies beyond
        assert far + tail == pytest.approx(mean, rel=1e-12)


def test_exposure_patterns_against_simulated_viewers() -> None:
    """Pattern rates sum to the arrivals and match a direct simulation of viewers (20 k
    draws per bin set; z < 4.5 per pattern)."""
    rng = np.random.default_rng(3)
    t0 = np.array([0.0, 1.0])
    width = np.array([1.0, 0.5])
    rate = np.array([2.0, 1.0])
    q_start = np.array([0.2, 0.4, 0.4, 0.9])
    q_end = np.array([0.4, 0.6, 0.6, 1.2])
    alpha, beta = 0.1, 2.5
    p = exposure_patterns(t0, width, rate, q_start, q_end, alpha, beta)
    assert p.rate.sum() == pytest.approx(rate.sum(), rel=1e-12)
    n = 200_000
    b = rng.choice(2, n, p=rate / rate.sum())
    t = t0[b] + width[b] * rng.random(n)
    u = rng.random(n)
    end = np.minimum(t + alpha * (u / (1 - u)) ** (1 / beta), 1.5)
    seen = (q_end[None, :] > t[:, None]) & (q_start[None, :] < end[:, None])
    lo = np.where(seen.any(axis=1), seen.argmax(axis=1), 0)
    hi = np.where(seen.any(axis=1), q_start.size - seen[:, ::-1].argmax(axis=1), 0)
    for lo_k, hi_k, r in zip(p.lo, p.hi, p.rate, strict=True):
        share = r / rate.sum()
        hits = np.mean((lo == lo_k) & (hi == hi_k))
        assert abs(hits - share) < Z * math.sqrt(share * (1 - share) / n) + 1e-12, (lo_k, hi_k)
    covered = sum(np.mean((lo == a) & (hi == c)) for a, c in zip(p.lo, p.hi, strict=True))
    assert covered == pytest.approx(1.0)


def test_mean_stay_against_simulation() -> None:
    rng = np.random.default_rng(4)
    t0, width, rate = np.array([0.0, 0.5]), np.array([0.5, 0.5]), np.array([3.0, 1.0])
    alpha, beta, span = 0.2, 1.8, 1.0
    n = 400_000
    b = rng.choice(2, n, p=rate / rate.sum())
    t = t0[b] + width[b] * rng.random(n)
    u = rng.random(n)
    stay = np.minimum(t + alpha * (u / (1 - u)) ** (1 / beta), span) - t
    got = mean_stay(t0, width, rate, span, alpha, beta)
    assert abs(got - stay.mean()) < Z * stay.std() / math.sqrt(n)


@pytest.mark.parametrize(("k", "lam"), [(50, 0.05), (40, 2.0), (6, 40.0), (3, 300.0)])
def test_occupancy_matches_brute_force(k: int, lam: float) -> None:
    """(identities with any event, total events) against k explicit Poisson draws."""
    from kernels.cohort import occupancy
    from kernels.rng import derive

    n = 20_000
    got = np.array([occupancy(np.uint64(derive(np.uint64(77), i)), k, lam) for i in range(n)])
    rng = np.random.default_rng(5)
    draws = rng.poisson(lam, size=(n, k))
    want = np.stack([(draws > 0).sum(axis=1), draws.sum(axis=1)], axis=1)
    for j, what in enumerate(("identities hit", "events")):
        compare_samples(got[:, j], want[:, j], f"{what}, k={k}, lam={lam}")
    assert np.all(got[:, 1] >= got[:, 0]) and np.all(got[:, 0] <= k)


def test_occupancy_huge_population_stays_exact() -> None:
    """A billion identities with one chance in a million each: counts near 1,000, no overflow."""
    from kernels.cohort import occupancy
    from kernels.rng import derive

    k, lam = 1_000_000_000, 1e-6
    got = np.array([occupancy(np.uint64(derive(np.uint64(5), i)), k, lam) for i in range(4000)])
    assert abs(got[:, 1].mean() - k * lam) < Z * math.sqrt(k * lam / 4000)
    hit_mean = k * -math.expm1(-lam)
    assert abs(got[:, 0].mean() - hit_mean) < Z * math.sqrt(hit_mean / 4000)


# ---- the two kernels on tiny strategies with carried state at work


def heavy_core() -> fc.Strategy:
    """The same sessions, with 2 % of people making 90 % of arrivals: identities see the
    product many times in a session, so the class counts need long occupancy chains."""
    return one_carried(core_people=0.02, core_arrivals=0.9)


def co_shown() -> fc.Strategy:
    """A mega session showing three products in adjacent slots, one of them (serum) carried
    into two later micro sessions: the carried product's exposures are split over patterns
    that include the others."""
    lipstick = fc.Product("lipstick", list_price=80.0, unit_cost=10.0, category="beauty")
    star = tiny_influencer("mega", "star", views_per_hour=200.0, shared_share=0.8)
    a = tiny_influencer("micro", "amy", shared_share=0.7)
    b = tiny_influencer("micro", "bo", shared_share=0.7)
    return fc.Strategy(
        [
            fc.Session(star, [MASK, SERUM, lipstick], hours=1.0, positions=[0, 1, 2]),
            fc.Session(a, [SERUM], day=2, hours=2.0),
            fc.Session(b, [SERUM], day=3, hours=2.0),
        ],
        tiny_market(),
        "tiny co-shown",
    )


@pytest.mark.slow
@pytest.mark.parametrize("build", [one_carried, heavy_core, co_shown, group_buying])
def test_kernels_agree_on_every_output(build: Callable[[], fc.Strategy]) -> None:
    strategy = build()
    n_s = len(strategy.sessions)
    viewer = fc.run(strategy, paths=PATHS, seed=21, method="viewer").sessions
    cohort = fc.run(strategy, paths=PATHS, seed=22, method="cohort")
    assert cohort.method == "cohort"
    for name in OUTPUTS:
        a = viewer[name].to_numpy().reshape(PATHS, n_s)
        b = cohort.sessions[name].to_numpy().reshape(PATHS, n_s)
        for s in range(n_s):
            compare_samples(a[:, s], b[:, s], f"{strategy.name} session {s} {name}")
    # carried state must be at work in what was compared
    sat = cohort.sessions["saturated"].sum()
    assert sat > 1000, sat
    if build is not co_shown:
        assert cohort.sessions["penalized"].sum() > 1000


# ---- every bundled example at full scale

EXAMPLE_VIEWER_PATHS = {"amateur_swarm": 1500, "micro_only": 400}
METRICS = ("views", "orders", "gmv", "net_sales", "profit")


@pytest.mark.slow
@pytest.mark.parametrize("name", examples.NAMES)
def test_kernels_agree_on_bundled_examples(name: str) -> None:
    strategy = fc.load(examples.path(name))
    assert not fc.cohort_reasons(strategy)
    n_viewer = EXAMPLE_VIEWER_PATHS.get(name, 150)
    viewer = fc.run(strategy, paths=n_viewer, seed=31, method="viewer").paths
    cohort = fc.run(strategy, paths=PATHS, seed=32)
    assert cohort.method == "cohort"  # auto picked it
    for metric in METRICS:
        compare_samples(viewer[metric].to_numpy(), cohort.paths[metric].to_numpy(), metric)


# ---- choosing the kernel, and edge cases


def test_auto_falls_back_and_cohort_refuses_with_the_reason() -> None:
    from tests.conftest import micro_then_mega

    s = micro_then_mega()  # its first session shows two carried products
    reasons = fc.cohort_reasons(s)
    assert reasons and "serum" in reasons[0] and "mask" in reasons[0]
    assert fc.run(s, paths=5, seed=1).method == "viewer"
    with pytest.raises(ValueError, match=r"run: method = 'cohort'.*shows 2 products"):
        fc.run(s, paths=5, seed=1, method="cohort")
    with pytest.raises(ValueError, match=r"method = 'fast'.*auto, viewer, cohort"):
        fc.run(s, paths=5, seed=1, method="fast")


def test_zero_expected_viewers() -> None:
    nobody = tiny_influencer("micro", "nobody", views_per_hour=0.0)
    s = fc.Strategy([fc.Session(nobody, [SERUM], hours=2.0)])
    for method in ("viewer", "cohort"):
        r = fc.run(s, paths=50, seed=1, method=method)
        for col in ("views", "exposures", "orders", "likes", "gifts", "watch_hours", "gmv"):
            assert (r.sessions[col] == 0).all(), (method, col)
        assert (r.paths["profit"] == -r.paths["fees"]).all()


def test_zero_conversion_product() -> None:
    inf = tiny_influencer("micro", "cold", conversion=0.0)
    s = fc.Strategy(
        [fc.Session(inf, [SERUM], hours=2.0), fc.Session(inf, [SERUM], day=1, hours=2.0)],
        tiny_market(),
    )
    for method in ("viewer", "cohort"):
        r = fc.run(s, paths=200, seed=2, method=method).sessions
        assert (r["orders"] == 0).all() and (r["units"] == 0).all() and (r["gmv"] == 0).all()
        assert r["exposures"].sum() > 1000 and r["views"].sum() > 1000


def test_huge_mega_session_exact_counts() -> None:
    """About 35 M expected views (6 M an hour for 5.5 h) with a carried product and a shared
    audience of 1.5 G people: the per-viewer kernel would need 6 GiB of state per thread and
    minutes per path; the cohort kernel's means match the closed forms (z < 4.5)."""
    star = fc.Influencer.preset("mega", "giant", views_per_hour=6_000_000.0)
    small = fc.Influencer.preset("micro", "small")
    # the lognormal traffic alone, so the closed form below holds (the layers of spread
    # have closed forms of their own in tests/engine/test_closed_form.py)
    market = fc.MarketParams(
        shared_audience=1_500_000_000,
        session_effects=0,
        host_uncertainty=0,
        drift=0,
        market_factor=0,
    )
    s = fc.Strategy(
        [fc.Session(star, [SERUM], hours=5.5), fc.Session(small, [SERUM], day=2, hours=3.0)],
        market,
    )
    with pytest.raises(ValueError, match=r"per-viewer kernel's carried state .* needs"):
        fc.run(s, paths=2, seed=1, method="viewer")
    n = 4000
    r = fc.run(s, paths=n, seed=3, method="cohort")
    views = r.sessions.filter(session=0)["views"].to_numpy()
    from forecast.engine.compile import compile_strategy

    c = compile_strategy(s)
    b0, b1 = c.si[0, L.SI_BIN_START], c.si[0, L.SI_BIN_END]
    lam = float(c.bins[b0:b1, L.BF_RATE].sum())
    sigma = float(c.sf[0, L.SF_SIGMA])
    assert lam > 3e7
    mean_t = math.exp(sigma**2 / 2)
    sd_views = math.sqrt(lam * mean_t + lam**2 * (math.exp(2 * sigma**2) - mean_t**2))
    assert abs(views.mean() - lam * mean_t) < Z * sd_views / math.sqrt(n)
    assert views.dtype == np.int64 and views.min() > 0
    counts = r.sessions.select("views", "exposures", "orders", "units", "likes").to_numpy()
    assert (counts >= 0).all()
    # conservation: orders never exceed exposures, units never fewer than orders
    ses = r.sessions
    assert (ses["orders"] <= ses["exposures"]).all() and (ses["units"] >= ses["orders"]).all()


def test_compare_runs_one_kernel_for_all() -> None:
    """Under "auto", one strategy needing the per-viewer kernel puts every strategy on it (so
    paths stay paired); when all are exact, all run the cohort kernel."""
    from tests.conftest import micro_then_mega

    mixed = fc.compare({"exact": one_carried(), "not": micro_then_mega()}, paths=20, seed=1)
    assert {f.method for f in mixed.forecasts.values()} == {"viewer"}
    alone = fc.run(one_carried(), paths=20, seed=1, method="viewer")
    assert mixed.forecasts["exact"].paths.equals(alone.paths)
    exact = fc.compare({"a": one_carried(), "b": group_buying()}, paths=20, seed=1)
    assert {f.method for f in exact.forecasts.values()} == {"cohort"}
