"""The presets reproduce the reference figures of MODEL.md.

A preset session at its reference duration, with every product of the stream the brand's at
the reference discount and every spread off (the host's level, its median session): median
views, mean stay, likes per view and units per view within 3 % of the reference. With 8
paths of a mega session (26 M viewers, ~0.5 M units) the Monte Carlo error of these ratios
is below 0.3 %, so 3 % is a calibration tolerance, not luck.
"""

from __future__ import annotations

import pytest

import forecast as fc
from forecast.model.presets import (
    REFERENCE_HOURS,
    REFERENCE_LIKES_PER_VIEW,
    REFERENCE_UNITS_PER_VIEW,
    REFERENCE_VIEWS,
)

REFERENCE_STAY_S = {fc.Tier.MEGA: 100.0, fc.Tier.MID: 141.0, fc.Tier.MICRO: 180.0}


CALIBRATED = (fc.Tier.MEGA, fc.Tier.MID, fc.Tier.MICRO)  # amateurs have no reference column


@pytest.mark.slow
@pytest.mark.parametrize("tier", CALIBRATED)
def test_preset_reproduces_reference_session(tier: fc.Tier) -> None:
    inf = fc.Influencer.preset(tier)
    n = inf.assortment
    stream = [fc.Product(f"p{i}", list_price=90.0, discount=0.2) for i in range(n)]
    session = fc.Session(inf, stream, hours=REFERENCE_HOURS[tier], positions=tuple(range(n)))
    # the host's level: its median session (every effect law is centred on its median)
    level = fc.MarketParams(traffic_noise=0.0, session_effects=0.0, host_uncertainty=0.0)
    r = fc.run(fc.Strategy([session], level), paths=8, seed=1)
    p = r.paths
    views = p["views"].sum()
    assert p["views"].median() == pytest.approx(REFERENCE_VIEWS[tier], rel=0.03)
    assert p["units"].sum() / views == pytest.approx(REFERENCE_UNITS_PER_VIEW[tier], rel=0.03)
    assert p["likes"].sum() / views == pytest.approx(REFERENCE_LIKES_PER_VIEW[tier], rel=0.03)
    stay = r.sessions["watch_hours"].sum() * 3600 / views
    assert stay == pytest.approx(REFERENCE_STAY_S[tier], rel=0.03)


def test_presets_order_reach_and_fees() -> None:
    mega, mid, micro = (fc.Influencer.preset(t) for t in CALIBRATED)
    assert mega.views_per_hour > mid.views_per_hour > micro.views_per_hour
    assert mega.slot_fee > mid.slot_fee > micro.slot_fee
    assert mega.is_mega and not mid.is_mega and not micro.is_mega
