"""Defaults built from the reference figures in the project brief (docs/model.md).

Top-20 Douyin hosts, June-August 2021, medians per session, and a random sample of 597
Douyin streamers (Xu, Zeng, Na & Fan 2025, September 2022 - July 2023, medians of weekly
averages per session):

=====================  =========  =======  =============
                       celebrity  KOL      random sample
=====================  =========  =======  =============
followers              (top 20)   (top 20) 635 k
views                  3.3 M      1.1 M    25 k
duration               5.5 h      3.5 h    2.3 h
average stay           100 s      141 s    87 s
products presented     63         45       24
likes per view         0.77       1.6      0.78
units sold per view    0.021      0.018    0.014
=====================  =========  =======  =============

``mega`` is calibrated to the celebrity column, ``mid`` to the KOL column and, from edition
2026-12, ``micro`` to the random sample's typical host: a session of the preset at its
reference duration, with every product of the stream the brand's at the market's reference
discount, reproduces the median views, average stay, likes per view and units per view
(checked by ``tests/model/test_presets.py``). Slot fees: CNY 100k-500k for top hosts (we take
the low end for mega, a KOL below it) plus 20-40 % commission.

**Editions.** A preset's figures are versioned so that a result can be reproduced:

* ``2026-11``: the presets before the time layer. ``micro`` rested on assumptions (300 k
  followers, 3.0 h, longer stays and more units per view than a top KOL); no drift, no
  market factor.
* ``2026-12`` (the default): ``micro`` from the random sample; every tier's session laws
  shrunk and its host sds reduced by what the drift and the market factor now carry
  (`forecast.model.drift`), so that sessions around a host's two-month median spread as
  before.
"""

from __future__ import annotations

import math
from typing import Any

from forecast.model import validation as v
from forecast.model.drift import FITTED as DRIFT_FITTED
from forecast.model.drift import market_sd, scaled_law, window_mean_share
from forecast.model.enums import Channel, Tier
from forecast.model.spread import BETWEEN_HOSTS, FITTED

#: Preset editions, oldest first; the last is the default.
EDITIONS = ("2026-11", "2026-12")
LATEST = EDITIONS[-1]

#: Reference session duration of each tier's calibration, hours.
REFERENCE_HOURS = {Tier.MEGA: 5.5, Tier.MID: 3.5, Tier.MICRO: 2.3}

#: Median views per session of each tier at its reference duration.
REFERENCE_VIEWS = {Tier.MEGA: 3_300_000, Tier.MID: 1_100_000, Tier.MICRO: 25_000}

#: Units sold per view with the whole stream the brand's.
REFERENCE_UNITS_PER_VIEW = {Tier.MEGA: 0.021, Tier.MID: 0.018, Tier.MICRO: 0.014}

#: Likes per view.
REFERENCE_LIKES_PER_VIEW = {Tier.MEGA: 0.77, Tier.MID: 1.6, Tier.MICRO: 0.78}

#: Average stay of a viewer, seconds.
REFERENCE_STAY_S = {Tier.MEGA: 100.0, Tier.MID: 141.0, Tier.MICRO: 87.0}

#: Edition 2026-11's micro reference (assumptions): 3.0 h, 60 k views, 0.03 units and 2.0
#: likes per view, 180 s of stay.
REFERENCE_2026_11 = {
    "hours": 3.0,
    "views": 60_000,
    "units_per_view": 0.03,
    "likes_per_view": 2.0,
    "stay_s": 180.0,
}

#: The micro preset's level, solved so that its reference session reproduces the random
#: sample's medians (tests/model/test_presets.py holds it within 3 %).
MICRO_VIEWS_PER_HOUR = 11_760.0
MICRO_CONVERSION = 0.00856
MICRO_LIKES_PER_MINUTE = 0.541

_INFLUENCERS: dict[Tier, dict[str, Any]] = {
    Tier.MEGA: {
        "followers": 30_000_000,
        "views_per_hour": 584_000.0,
        "traffic_sigma": FITTED[("celebrity", "traffic")].sd,
        "shared_share": 0.6,
        "dwell_mean_s": 100.0,
        "dwell_shape": 2.5,
        "conversion": 0.0187,
        "likes_per_minute": 0.462,
        "comments_per_minute": 0.05,
        "gifts_per_hour": 0.6,
        "gift_value_mean": 9.0,
        "gift_value_cv": 3.0,
        "slot_fee": 100_000.0,
        "commission_rate": 0.25,
        "assortment": 63,
        "categories": 6,
        "video_views": 2_000_000.0,
    },
    Tier.MID: {
        "followers": 8_000_000,
        "views_per_hour": 314_000.0,
        "traffic_sigma": FITTED[("KOL", "traffic")].sd,
        "shared_share": 0.5,
        "dwell_mean_s": 141.0,
        "dwell_shape": 2.5,
        "conversion": 0.0104,
        "likes_per_minute": 0.681,
        "comments_per_minute": 0.08,
        "gifts_per_hour": 0.8,
        "gift_value_mean": 9.0,
        "gift_value_cv": 3.0,
        "slot_fee": 50_000.0,
        "commission_rate": 0.20,
        "assortment": 45,
        "categories": 4,
        "video_views": 400_000.0,
    },
    Tier.MICRO: {
        "followers": 635_000,
        "views_per_hour": MICRO_VIEWS_PER_HOUR,
        "traffic_sigma": FITTED[("KOL", "traffic")].sd,
        "shared_share": 0.4,
        "dwell_mean_s": 87.0,
        "dwell_shape": 2.5,
        "conversion": MICRO_CONVERSION,
        "likes_per_minute": MICRO_LIKES_PER_MINUTE,
        "comments_per_minute": 0.12,
        "gifts_per_hour": 1.0,
        "gift_value_mean": 4.0,
        "gift_value_cv": 2.0,
        "slot_fee": 3_000.0,
        "commission_rate": 0.10,
        "assortment": 24,
        "categories": 2,
        "video_views": 20_000.0,
    },
}

#: Edition 2026-11's micro preset (assumptions: smaller reach, noisier traffic, longer stays,
#: more units per view, low fees).
_MICRO_2026_11: dict[str, Any] = {
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
    "gift_value_mean": 4.0,
    "gift_value_cv": 2.0,
    "slot_fee": 3_000.0,
    "commission_rate": 0.10,
    "assortment": 20,
    "categories": 2,
    "video_views": 20_000.0,
}


def check_edition(owner: str, edition: Any) -> str:
    """``edition`` if it is one of `EDITIONS`, else a ValueError naming the field."""
    if edition not in EDITIONS:
        raise v.fail(owner, "edition", edition, f"must be one of {', '.join(EDITIONS)}")
    return str(edition)


# ---- amateur group-buying anchors (second source document). No reference figures exist for
# them; these are stated assumptions. Reach doubles with each platform level; terms follow the
# source: low levels get a free experience only (its cost borne by the merchant), higher levels
# commission and then a filming fee; merchants often offer free receptions only from Lv3 up.

#: Expected views of one short video by video level Lv0..Lv8 (500 doubling to 128,000).
LEVEL_VIDEO_VIEWS = tuple(500.0 * 2**lvl for lvl in range(9))
#: Plateau arrivals per hour of a livestream by live level Lv0..Lv8 (40 doubling to 10,240).
LEVEL_LIVE_VIEWS_PER_HOUR = tuple(40.0 * 2**lvl for lvl in range(9))
#: Own followers by level (the larger of the two levels): 1,000 doubling to 256,000.
LEVEL_FOLLOWERS = tuple(1_000 * 2**lvl for lvl in range(9))

_AMATEUR_BASE: dict[str, Any] = {
    "traffic_sigma": 1.0,
    "shared_share": 0.5,
    "dwell_mean_s": 60.0,
    "dwell_shape": 2.5,
    "conversion": 0.004,
    "likes_per_minute": 1.0,
    "comments_per_minute": 0.2,
    "gifts_per_hour": 0.5,
    "gift_value_mean": 1.6,
    "gift_value_cv": 1.3,
    "assortment": 1,
    "categories": 1,
    "experience_cost": 150.0,
}


def amateur_terms(level: int, channel: Channel) -> dict[str, float]:
    """Default terms of an amateur anchor of platform ``level`` (the higher of video and live)
    engaged through ``channel``:

    ==========  ===============================  ==========  ============  ============
    channel     free experience (CNY 150)        commission  filming fee   agency share
    ==========  ===============================  ==========  ============  ============
    invitation  every level                      Lv3+: 6 %,  Lv6: 500,     0
                                                 Lv6+: 8 %   Lv7: 1,000,
                                                             Lv8: 2,000
    mcn         as invitation                    as invit.   as invit.     30 %
    library     Lv3+ only (merchants' rule)      6 %, all    none          0
    direct      every level                      as invit.   as invit.,    0
                                                             Lv3-5: 200
    ==========  ===============================  ==========  ============  ============
    """
    commission = 0.0 if level < 3 else (0.06 if level < 6 else 0.08)
    filming = {6: 500.0, 7: 1_000.0, 8: 2_000.0}.get(level, 0.0)
    experience = 150.0
    agency = 0.0
    if channel is Channel.LIBRARY:
        commission, filming = 0.06, 0.0
        experience = 150.0 if level >= 3 else 0.0
    elif channel is Channel.MCN:
        agency = 0.3
    elif channel is Channel.DIRECT and 3 <= level < 6:
        filming = 200.0
    return {
        "commission_rate": commission,
        "slot_fee": filming,
        "experience_cost": experience,
        "agency_share": agency,
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


def influencer_defaults(
    tier: Tier,
    video_level: Any = None,
    live_level: Any = None,
    channel: Any = None,
    owner: str = "influencer",
    edition: str = LATEST,
) -> dict[str, Any]:
    """The preset fields of ``tier`` in ``edition`` (everything but name and tier). An
    amateur's come from its levels (both required, 0-8) and channel (default
    ``invitation``)."""
    edition = check_edition(owner, edition)
    if tier is not Tier.AMATEUR:
        base = dict(
            _MICRO_2026_11 if (tier, edition) == (Tier.MICRO, "2026-11") else _INFLUENCERS[tier]
        )
        if edition != "2026-11":
            base["traffic_sigma"] = _scaled_sd(tier, "traffic", base["traffic_sigma"])
        return {**base, **host_spread(tier, edition), "edition": edition}
    for field_name, value in (("video_level", video_level), ("live_level", live_level)):
        if value is None:
            raise v.fail(owner, field_name, value, "an amateur anchor needs a level 0-8")
    vl = v.integer(owner, "video_level", video_level, 0, 8)
    ll = v.integer(owner, "live_level", live_level, 0, 8)
    if channel is None:
        channel = Channel.INVITATION
    try:
        ch = Channel(channel)
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        raise v.fail(owner, "channel", channel, f"must be one of {allowed}") from None
    values = dict(_AMATEUR_BASE)
    if edition != "2026-11":
        values["traffic_sigma"] = _scaled_sd(tier, "traffic", values["traffic_sigma"])
    values.update(
        video_level=vl,
        live_level=ll,
        channel=ch,
        video_views=LEVEL_VIDEO_VIEWS[vl],
        views_per_hour=LEVEL_LIVE_VIEWS_PER_HOUR[ll],
        followers=LEVEL_FOLLOWERS[max(vl, ll)],
        edition=edition,
    )
    values.update(amateur_terms(max(vl, ll), ch))
    values.update(host_spread(tier, edition))
    return values


def category_return_rate(category: str) -> float:
    """Default return probability for ``category`` (``general`` for unknown categories)."""
    return CATEGORY_RETURN_RATES.get(category, CATEGORY_RETURN_RATES["general"])


#: Which class of MODEL.md's real hosts sets a tier's spreads: celebrity hosts for mega, KOL
#: hosts for mid; micro and amateur have no figures of their own, and take the KOL figures as
#: a floor (their traffic core, ``traffic_sigma``, stays the larger stated assumption).
SPREAD_CLASS = {Tier.MEGA: "celebrity", Tier.MID: "KOL", Tier.MICRO: "KOL", Tier.AMATEUR: "KOL"}


def _scaled_sd(tier: Tier, metric: str, sd: float) -> float:
    """A session core sd of ``tier`` shrunk by the time layer's session scale (2026-12)."""
    return round(sd * DRIFT_FITTED[(SPREAD_CLASS[tier], metric)].session_scale, 4)


def session_spread(tier: Tier, edition: str = LATEST) -> dict[str, float]:
    """The session-effect fields of ``tier`` (``<metric>_<part>``; traffic's core sd is the
    influencer's ``traffic_sigma``), from the laws fitted to real sessions
    (`forecast.model.spread.FITTED`); from edition 2026-12 scaled by what the drift and the
    market carry (`forecast.model.drift.FITTED`)."""
    out: dict[str, float] = {}
    for metric in ("traffic", "conversion", "engagement", "stay"):
        law = FITTED[(SPREAD_CLASS[tier], metric)]
        if edition != "2026-11":
            scale = DRIFT_FITTED[(SPREAD_CLASS[tier], metric)].session_scale
            law = scaled_law(law, scale)
            law = type(law)(*(round(getattr(law, k), 4) for k in law.__dataclass_fields__))
        if metric != "traffic":
            out[f"{metric}_sigma"] = law.sd
        out[f"{metric}_flop_prob"] = law.flop_prob
        out[f"{metric}_flop_mean"] = law.flop_mean
        out[f"{metric}_hit_prob"] = law.hit_prob
        out[f"{metric}_hit_mean"] = law.hit_mean
    return out


def host_spread(tier: Tier, edition: str = LATEST) -> dict[str, float]:
    """The between-host sds a preset of ``tier`` carries: "a typical host of this tier, not
    yet known" (MODEL.md's sd of the hosts' two-month medians). From edition 2026-12 less the
    part of the drift those medians already hold (`forecast.model.drift.window_mean_share`),
    at least half of it: the drift carries the rest."""
    cls = SPREAD_CLASS[tier]
    out = {}
    for metric in ("traffic", "conversion", "engagement", "stay"):
        between = BETWEEN_HOSTS[(cls, metric)]
        if edition != "2026-11":
            d = DRIFT_FITTED[(cls, metric)]
            held = window_mean_share(d.drift_days) * d.drift_sd**2
            between = round(math.sqrt(max(between**2 - held, (between / 2) ** 2)), 4)
        out[f"host_{metric}_sd"] = between
    return out


def time_layer(tier: Tier, edition: str = LATEST) -> dict[str, float]:
    """The drift and market fields of ``tier``: ``drift_days``, ``<metric>_drift_sd`` and
    ``<metric>_market_sd`` (`forecast.model.drift`); all sds 0 in edition 2026-11."""
    cls = SPREAD_CLASS[tier]
    old = edition == "2026-11"
    out: dict[str, float] = {"drift_days": DRIFT_FITTED[(cls, "traffic")].drift_days}
    for metric in ("traffic", "conversion", "engagement", "stay"):
        out[f"{metric}_drift_sd"] = 0.0 if old else DRIFT_FITTED[(cls, metric)].drift_sd
        out[f"{metric}_market_sd"] = 0.0 if old else round(market_sd(cls, metric), 4)
    return out
