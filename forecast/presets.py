"""Defaults built from the reference figures in the project brief (MODEL.md).

Top-20 Douyin hosts, June-August 2021, medians per session:

=====================  =========  =======
                       celebrity  KOL
=====================  =========  =======
views                  3.3 M      1.1 M
duration               5.5 h      3.5 h
average stay           100 s      141 s
products presented     63         45
likes per view         0.77       1.6
units sold per view    0.021      0.018
=====================  =========  =======

``mega`` is calibrated to the celebrity column and ``mid`` to the KOL column: a session of the
preset at its reference duration, with every product of the stream the brand's at the
market's reference discount, reproduces the median views, average stay, likes per view and
units per view (checked by ``tests/test_presets.py``). ``micro`` (under 1M followers) has no
reference column; its figures are assumptions stated here: smaller reach, noisier traffic,
longer stays, more units per view (trust), low fees. Slot fees: CNY 100k-500k for top hosts
(we take the low end for mega, a KOL below it) plus 20-40 % commission.
"""

from __future__ import annotations

from typing import Any

from forecast.model import Tier

#: Reference session duration of each tier's calibration, hours.
REFERENCE_HOURS = {Tier.MEGA: 5.5, Tier.MID: 3.5, Tier.MICRO: 3.0}

#: Median views per session of each tier at its reference duration (micro: assumption).
REFERENCE_VIEWS = {Tier.MEGA: 3_300_000, Tier.MID: 1_100_000, Tier.MICRO: 60_000}

#: Units sold per view with the whole stream the brand's (micro: assumption).
REFERENCE_UNITS_PER_VIEW = {Tier.MEGA: 0.021, Tier.MID: 0.018, Tier.MICRO: 0.03}

#: Likes per view (micro: assumption).
REFERENCE_LIKES_PER_VIEW = {Tier.MEGA: 0.77, Tier.MID: 1.6, Tier.MICRO: 2.0}

_INFLUENCERS: dict[Tier, dict[str, Any]] = {
    Tier.MEGA: {
        "followers": 30_000_000,
        "views_per_hour": 584_000.0,
        "traffic_sigma": 0.5,
        "shared_share": 0.6,
        "dwell_mean_s": 100.0,
        "dwell_shape": 2.5,
        "conversion": 0.0187,
        "likes_per_minute": 0.462,
        "comments_per_minute": 0.05,
        "gifts_per_hour": 0.6,
        "gift_value_median": 3.0,
        "gift_value_sigma": 1.5,
        "slot_fee": 100_000.0,
        "commission_rate": 0.25,
        "assortment": 63,
        "categories": 6,
    },
    Tier.MID: {
        "followers": 8_000_000,
        "views_per_hour": 314_000.0,
        "traffic_sigma": 0.6,
        "shared_share": 0.5,
        "dwell_mean_s": 141.0,
        "dwell_shape": 2.5,
        "conversion": 0.0104,
        "likes_per_minute": 0.681,
        "comments_per_minute": 0.08,
        "gifts_per_hour": 0.8,
        "gift_value_median": 3.0,
        "gift_value_sigma": 1.5,
        "slot_fee": 50_000.0,
        "commission_rate": 0.20,
        "assortment": 45,
        "categories": 4,
    },
    Tier.MICRO: {
        "followers": 300_000,
        "views_per_hour": 21_500.0,
        "traffic_sigma": 0.8,
        "shared_share": 0.4,
        "dwell_mean_s": 180.0,
        "dwell_shape": 2.5,
        "conversion": 0.0171,
        "likes_per_minute": 0.667,
        "comments_per_minute": 0.12,
        "gifts_per_hour": 1.0,
        "gift_value_median": 2.0,
        "gift_value_sigma": 1.2,
        "slot_fee": 3_000.0,
        "commission_rate": 0.10,
        "assortment": 20,
        "categories": 2,
    },
}

#: Return or refund probability of an order by category: livestream return rates run 30-50 %
#: against 10-15 % in ordinary e-commerce; food and groceries lower, apparel highest.
CATEGORY_RETURN_RATES: dict[str, float] = {
    "apparel": 0.50,
    "shoes": 0.45,
    "beauty": 0.30,
    "personal_care": 0.30,
    "electronics": 0.25,
    "home": 0.30,
    "food": 0.15,
    "general": 0.35,
}


def influencer_defaults(tier: Tier) -> dict[str, Any]:
    """A fresh copy of the preset fields of ``tier`` (everything but name and tier)."""
    return dict(_INFLUENCERS[tier])


def category_return_rate(category: str) -> float:
    """Default return probability for ``category`` (``general`` for unknown categories)."""
    return CATEGORY_RETURN_RATES.get(category, CATEGORY_RETURN_RATES["general"])
