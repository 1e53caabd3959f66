"""The fixed vocabularies of the model: influencer tiers, session formats, how an amateur
anchor was engaged, product kinds (each parsed with an error listing the allowed names)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from forecast.model import validation as v


class Tier(StrEnum):
    """Influencer tier. ``mega``: celebrity hosts (1M+ followers, the study's "mega");
    ``mid``: professional KOL hosts; ``micro``: smaller influencers (under 1M followers);
    ``amateur``: group-buying anchors with platform levels Lv0-Lv8. For the trust asymmetry
    only mega counts as mega; the others are "smaller"."""

    MEGA = "mega"
    MID = "mid"
    MICRO = "micro"
    AMATEUR = "amateur"

    @classmethod
    def parse(cls, value: Any, owner: str = "influencer") -> Tier:
        """Tier from its name, with an error listing the allowed names."""
        if isinstance(value, Tier):
            return value
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(t.value for t in cls)
            raise v.fail(owner, "tier", value, f"must be one of {allowed}") from None


class Format(StrEnum):
    """Session format: a livestream of some hours, or a short video that draws views for days."""

    LIVE = "live"
    VIDEO = "video"


class Channel(StrEnum):
    """How an amateur anchor was engaged (sets default terms, `forecast.model.presets`): the
    platform's product ``library``, a merchant's ``invitation``, an ``mcn`` agency (which takes
    a share of the anchor's commission and fees), or a ``direct`` deal."""

    LIBRARY = "library"
    INVITATION = "invitation"
    MCN = "mcn"
    DIRECT = "direct"


class Kind(StrEnum):
    """Product kind: ``goods`` are shipped and may be returned; a ``voucher`` is redeemed in
    the store and earns revenue only when verified there within its validity window."""

    GOODS = "goods"
    VOUCHER = "voucher"


def parse_enum(cls: Any, owner: str, field_name: str, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(x.value for x in cls)
        raise v.fail(owner, field_name, value, f"must be one of {allowed}") from None
