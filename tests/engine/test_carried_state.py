"""Carried state between sessions: trust penalty (smaller -> mega only, fading) and saturation.

All comparisons run two strategies on the same seed. A session's draws are keyed by its label,
so both see the same viewers and the same uniforms; a parameter that only lowers purchase
probabilities must then lower orders on every single path, which is what these tests assert
(exact statements, no tolerance).
"""

from __future__ import annotations

import numpy as np

import forecast as fc
from forecast.engine.compile import compile_strategy
from tests.conftest import SERUM, mega_then_micro, micro_then_mega, tiny_influencer, tiny_market

PATHS = 400


def orders(strategy: fc.Strategy, seed: int = 1) -> np.ndarray:
    """Orders per path and session, [paths, sessions]."""
    s = fc.run(strategy, paths=PATHS, seed=seed).sessions
    return s["orders"].to_numpy().reshape(PATHS, len(strategy.sessions))


def test_trust_penalty_lowers_mega_sales_after_smaller_influencers() -> None:
    with_penalty = orders(micro_then_mega())
    without = orders(micro_then_mega(trust_penalty=0.0))
    np.testing.assert_array_equal(with_penalty[:, :2], without[:, :2])  # micros untouched
    assert (with_penalty[:, 2] <= without[:, 2]).all()
    assert with_penalty[:, 2].sum() < 0.97 * without[:, 2].sum()


def test_no_penalty_for_smaller_influencers_after_mega() -> None:
    run = fc.run(mega_then_micro(), paths=PATHS, seed=1).sessions
    assert run["penalized"].sum() == 0
    with_penalty = orders(mega_then_micro())
    without = orders(mega_then_micro(trust_penalty=0.0))
    np.testing.assert_array_equal(with_penalty, without)


def test_penalty_fades_with_days_between_sessions() -> None:
    never = orders(micro_then_mega(trust_fade_days=float("inf")))[:, 2]
    slow = orders(micro_then_mega(trust_fade_days=30.0))[:, 2]
    fast = orders(micro_then_mega(trust_fade_days=1.0))[:, 2]
    gone = orders(micro_then_mega(trust_fade_days=1e-3))[:, 2]
    off = orders(micro_then_mega(trust_penalty=0.0))[:, 2]
    assert (never <= slow).all() and (slow <= fast).all() and (fast <= gone).all()
    assert never.sum() < slow.sum() < fast.sum()
    np.testing.assert_array_equal(gone, off)


def test_saturation_stops_repeat_buyers() -> None:
    sat = fc.run(mega_then_micro(), paths=PATHS, seed=2).sessions
    assert sat.filter(session=0)["saturated"].sum() == 0  # nobody bought before the first
    assert sat.filter(session=1)["saturated"].sum() > 0
    full = orders(mega_then_micro(), seed=2)
    none = orders(mega_then_micro(saturation=0.0), seed=2)
    np.testing.assert_array_equal(full[:, 0], none[:, 0])
    assert (full <= none).all()
    assert full[:, 1:].sum() < none[:, 1:].sum()


def test_no_shared_audience_no_overlap() -> None:
    """Micro viewers drawn only from the micro's own followers never meet the mega."""
    amy = tiny_influencer("micro", "amy", shared_share=0.0)
    star = tiny_influencer("mega", "star", views_per_hour=150.0, shared_share=1.0)
    s = fc.Strategy(
        [fc.Session(amy, [SERUM], hours=2.0), fc.Session(star, [SERUM], day=1, hours=2.0)],
        tiny_market(),
    )
    assert fc.run(s, paths=PATHS, seed=3).sessions["penalized"].sum() == 0


def test_state_only_for_pools_and_products_in_several_sessions() -> None:
    c = compile_strategy(micro_then_mega())
    # shared pool used by all three sessions; amy, bo, star appear once each
    assert c.pools[0, 1] == 0 and (c.pools[1:, 1] == -1).all()
    assert c.state_rows == 400 and c.state_cols == 2  # serum and mask both repeat
    single = fc.Strategy([micro_then_mega().sessions[2]])
    assert compile_strategy(single).state_rows == 0
