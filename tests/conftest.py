"""Shared fixtures: tiny strategies that run in milliseconds, and the hypothesis profile."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings

import forecast as fc

# JIT compilation makes the first example slow: no deadline, bounded examples.
settings.register_profile(
    "forecast",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("forecast")


def tiny_influencer(tier: str, name: str, views_per_hour: float = 60.0, **kw: Any) -> fc.Influencer:
    """An influencer of ``tier`` with about ``views_per_hour`` arrivals an hour, a small
    follower pool and a generous conversion, so state effects show in a few paths."""
    base: dict[str, Any] = {
        "views_per_hour": views_per_hour,
        "followers": 300,
        "conversion": 0.2,
        "assortment": 4,
        "categories": 2,
        "gifts_per_hour": 2.0,
    }
    base.update(kw)
    return fc.Influencer.preset(tier, name, **base)


SERUM = fc.Product("serum", list_price=100.0, unit_cost=30.0, category="beauty", discount=0.2)
MASK = fc.Product(
    "mask",
    list_price=40.0,
    unit_cost=8.0,
    category="beauty",
    discount=0.1,
    return_rate=0.1,
    units_per_order=2.0,
)


def tiny_market(**kw: Any) -> fc.MarketParams:
    """A market whose shared audience is small enough for viewers to meet again."""
    base: dict[str, Any] = {"shared_audience": 400, "core_people": 0.1, "core_arrivals": 0.5}
    base.update(kw)
    return fc.MarketParams(**base)


def micro_then_mega(**market: Any) -> fc.Strategy:
    """Two micro sessions then a mega session, two products, small pools."""
    a = tiny_influencer("micro", "amy", shared_share=0.7)
    b = tiny_influencer("micro", "bo", shared_share=0.7)
    star = tiny_influencer("mega", "star", views_per_hour=150.0, shared_share=0.8)
    return fc.Strategy(
        [
            fc.Session(a, [SERUM, MASK], day=0, hours=2.0),
            fc.Session(b, [SERUM], day=1, hours=2.0),
            fc.Session(star, [MASK, SERUM], day=3, hours=2.0, discounts={"serum": 0.3}),
        ],
        tiny_market(**market),
        "tiny micro then mega",
    )


def mega_then_micro(**market: Any) -> fc.Strategy:
    """The sessions of `micro_then_mega` in the reverse order (same labels)."""
    s = micro_then_mega(**market).sessions
    return fc.Strategy(
        [s[2].replace(day=0), s[0].replace(day=2), s[1].replace(day=3)],
        tiny_market(**market),
        "tiny mega then micro",
    )


def one_carried(**market: Any) -> fc.Strategy:
    """Trust, saturation and a repeat visit with one carried product (serum) per session, so
    the cohort kernel is exact: two micro sessions (the first also shows a mask, shown only
    there), a mega session, then the first micro influencer again (own pool carried too)."""
    a = tiny_influencer("micro", "amy", shared_share=0.7)
    b = tiny_influencer("micro", "bo", shared_share=0.7)
    star = tiny_influencer("mega", "star", views_per_hour=150.0, shared_share=0.8)
    return fc.Strategy(
        [
            fc.Session(a, [SERUM, MASK], day=0, hours=2.0),
            fc.Session(b, [SERUM], day=1, hours=2.0),
            fc.Session(star, [SERUM], day=3, hours=2.0, discounts={"serum": 0.3}),
            fc.Session(a, [SERUM], day=4, hours=2.0, label="amy again"),
        ],
        tiny_market(**market),
        "tiny one carried product",
    )


def group_buying() -> fc.Strategy:
    """Amateur videos (two episodes of one visit) and a mega livestream selling one voucher,
    small pools so carried state acts across formats."""
    voucher = fc.Product(
        "set",
        list_price=120.0,
        discount=0.3,
        unit_cost=40.0,
        kind="voucher",
        verify_prob=0.7,
        validity_days=10.0,  # type: ignore[arg-type]
        verify_delay_days=6.0,
    )
    a = fc.Influencer.preset(
        "amateur",
        "a",
        video_level=0,
        live_level=0,
        conversion=0.1,
        followers=200,
        shared_share=0.8,
        video_views=250.0,
    )
    star = fc.Influencer.preset(
        "mega",
        "star",
        views_per_hour=150.0,
        conversion=0.3,
        assortment=4,
        categories=2,
        shared_share=0.8,
    )
    return fc.Strategy(
        [
            fc.Session(a, [voucher], format="video", days=3.0),  # type: ignore[arg-type]
            fc.Session(a, [voucher], format="video", days=3.0, day=1.0, episode=2),  # type: ignore[arg-type]
            fc.Session(star, [voucher], day=2.0, hours=2.0),
        ],
        tiny_market(),
    )
