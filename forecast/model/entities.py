"""The campaign model: frozen, validated dataclasses with units in every docstring.

A `Strategy` is sessions in time order; a `Session` is one influencer presenting the brand's
products in one livestream; `MarketParams` holds every effect size, each switchable off.
Construction validates everything: a bad value raises ValueError naming the field, the value
and what is allowed.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from forecast.model import validation as v
from forecast.model.enums import Channel, Format, Kind, Tier, parse_enum

if TYPE_CHECKING:
    from forecast.model.spread import EffectLaw

# Upper bounds that keep every sum of a run finite (int64 counts, float64 money) and every run
# of reasonable cost; each is far beyond any real campaign.

#: Most people in one audience pool (followers, ``market.shared_audience``).
MAX_PEOPLE = 10_000_000_000
#: Highest list price or unit cost, CNY.
MAX_PRICE = 10_000_000.0
#: Highest fee (slot or filming fee, free experience) of one session, CNY.
MAX_FEE = 10_000_000_000.0
#: Highest plateau arrival rate, arrivals per hour.
MAX_VIEWS_PER_HOUR = 1_000_000_000.0
#: Most expected views of one short video.
MAX_VIDEO_VIEWS = 10_000_000_000.0
#: Highest sd of the log traffic multiplier, after ``market.traffic_noise`` scales it.
MAX_TRAFFIC_SIGMA = 3.0
#: Highest tier-specific sensitivity (discount, categories, assortment).
MAX_SENSITIVITY = 20.0

#: Metrics with a session effect and a host effect (`forecast.model.spread`).
SPREAD_METRICS = ("traffic", "conversion", "engagement", "stay")
#: Parts of a session-effect law and their ranges.
SPREAD_PARTS = (
    ("sigma", 0.0, 3.0),
    ("flop_prob", 0.0, 0.5),
    ("flop_mean", 0.01, 10.0),
    ("hit_prob", 0.0, 0.5),
    ("hit_mean", 0.01, 0.45),
)
#: The market's correlations of the effect cores.
CORRELATIONS = ("corr_traffic_engagement", "corr_traffic_conversion", "corr_conversion_engagement")
#: The influencer fields of the between-host spread.
HOST_FIELDS = ("host_traffic_sd", "host_conversion_sd", "host_engagement_sd", "host_stay_sd")
#: The time layer's fields of an influencer and their ranges.
TIME_FIELDS = (
    ("drift_days", 0.5, 3650.0),
    *((f"{m}_drift_sd", 0.0, 3.0) for m in SPREAD_METRICS),
    *((f"{m}_market_sd", 0.0, 2.0) for m in SPREAD_METRICS),
)


@dataclass(frozen=True)
class TierValues:
    """One number per tier (a tier-specific effect size); each in [0, `MAX_SENSITIVITY`].
    ``amateur`` defaults to the ``micro`` value."""

    mega: float
    mid: float
    micro: float
    amateur: float | None = None

    def __post_init__(self) -> None:
        if self.amateur is None:
            object.__setattr__(self, "amateur", self.micro)
        for name in ("mega", "mid", "micro", "amateur"):
            value = v.non_negative("tier values", name, getattr(self, name), MAX_SENSITIVITY)
            object.__setattr__(self, name, value)

    def __getitem__(self, tier: Tier) -> float:
        return float(getattr(self, tier.value))


def _tier_values(owner: str, field_name: str, value: Any) -> TierValues:
    if isinstance(value, TierValues):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"mega", "mid", "micro", "amateur"}
        if unknown or not {"mega", "mid", "micro"} <= set(value):
            raise v.fail(
                owner,
                field_name,
                dict(value),
                "needs the keys mega, mid, micro (amateur optional, default: micro's)",
            )
        try:
            return TierValues(**value)
        except ValueError as err:
            raise ValueError(f"{owner}: {field_name}: {err}") from None
    raise v.fail(owner, field_name, value, "must be a table with keys mega, mid, micro[, amateur]")


@dataclass(frozen=True)
class MarketParams:
    """Every effect size of the model, with defaults; setting one to zero switches it off.

    Purchase probability of an exposed viewer who has not bought before::

        p = conversion * fit * exp(b * (discount - reference_discount))
            * (categories / reference_categories) ** -g
            * (assortment / reference_assortment) ** -d          (clipped to 1)

    with b, g, d the tier's ``discount_sensitivity``, ``category_sensitivity`` and
    ``assortment_sensitivity``. Then, per viewer and product, from carried state:
    ``* (1 - saturation)`` if the viewer bought the product in an earlier session, and, in a
    mega session, ``* (1 - trust_penalty * exp(-days / trust_fade_days))`` if the viewer saw a
    smaller influencer endorse it ``days`` earlier.
    """

    trust_penalty: float = 0.35
    """Drop in a mega influencer's conversion of a viewer who saw a smaller influencer endorse
    the product, on the same day; fraction in [0, 1]. 0 switches the effect off (finding 1)."""
    trust_fade_days: float = 30.0
    """E-folding time of the trust penalty, days (> 0; inf: never fades)."""
    saturation: float = 1.0
    """Drop in conversion of a viewer who already bought the product in an earlier session;
    fraction in [0, 1]. 1: never buys again; 0: switched off."""
    discount_sensitivity: TierValues = field(
        default_factory=lambda: TierValues(mega=2.5, mid=1.5, micro=0.8)
    )
    """Log-lift of conversion per unit of discount (per 100 percentage points), per tier, >= 0
    (finding 5: larger for mega)."""
    category_sensitivity: TierValues = field(
        default_factory=lambda: TierValues(mega=0.35, mid=0.15, micro=0.05)
    )
    """Elasticity of conversion to the number of categories in the stream, per tier, >= 0
    (finding 6: larger for mega)."""
    assortment_sensitivity: TierValues = field(
        default_factory=lambda: TierValues(mega=0.40, mid=0.20, micro=0.10)
    )
    """Elasticity of conversion to the number of products in the stream, per tier, >= 0
    (finding 7: larger for mega)."""
    reference_discount: float = 0.2
    """Discount at which an influencer's ``conversion`` holds, fraction in [0, 1)."""
    reference_categories: float = 3.0
    """Number of categories at which ``conversion`` holds, in [1, 10000]."""
    reference_assortment: float = 50.0
    """Number of products per stream at which ``conversion`` holds, in [1, 10000]."""
    shared_audience: int = 2_000_000
    """People in the shared market audience (the brand category's shoppers reached by the
    platform's recommendations); every influencer draws part of its viewers from it, which is
    how audiences overlap. At most `MAX_PEOPLE`."""
    core_people: float = 0.02
    """Share of every audience pool that is heavy watchers (the core), in (0, 1]."""
    core_arrivals: float = 0.5
    """Share of a pool's arrivals made by its core, in [0, 1]; equal to ``core_people``, every
    person is equally likely to arrive. Heavy watchers see many sessions, so this is what makes
    the audiences of different influencers meet."""
    traffic_noise: float = 1.0
    """Multiplier of every influencer's ``traffic_sigma``, in [0, 3]; 0 switches traffic noise
    off. The product ``traffic_sigma x traffic_noise`` must stay <= `MAX_TRAFFIC_SIGMA`."""
    ramp_minutes: float = 30.0
    """Ramp-up at the start of a session, minutes, in [0, 2880]."""
    ramp_start: float = 0.2
    """Arrival rate at the very start relative to the plateau, in [0, 1]."""
    tail_minutes: float = 30.0
    """Wind-down at the end of a session, minutes, in [0, 2880]."""
    tail_end: float = 0.3
    """Arrival rate at the very end relative to the plateau, in [0, 1]."""
    burst_lift: float = 0.5
    """Extra arrival rate, relative to the plateau, while a product link goes live
    ("3, 2, 1, link on"), in [0, 100]; 0 switches bursts off."""
    burst_minutes: float = 1.0
    """Length of a link-on burst after each product slot starts, minutes, in [0, 60]."""
    bin_minutes: float = 1.0
    """Resolution of the arrival intensity (piecewise constant on bins), minutes, in
    [0.1, 60]."""
    video_half_life_days: float = 2.0
    """Half-life of a short video's views, days, in [0.01, 365]: views per day decay
    exponentially."""
    video_dwell_mean_s: float = 15.0
    """Mean watch time of a short-video view, seconds, in [0.1, 86400]."""
    episode_reach_decay: float = 0.6
    """Reach of each further episode cut from one store visit, relative to the previous one,
    in [0, 1] (freshness lost to repetition); 1 switches the loss off."""
    gift_share: float = 0.5
    """Share of the value of virtual gifts that reaches the influencer, [0, 1]."""
    host_uncertainty: float = 1.0
    """Multiplier of every influencer's between-host sds (``host_*_sd``), in [0, 3]; 0 treats
    every host as known (no influencer effects)."""
    session_effects: float = 1.0
    """Multiplier of the session effects of conversion, engagement and stay (their sds and
    jump probabilities) and of traffic's jump probabilities, in [0, 1]; 0 switches them off
    (traffic's core, ``traffic_sigma``, is ``traffic_noise``'s)."""
    corr_traffic_engagement: float = 0.33
    """Correlation of the normal cores of the traffic and engagement effects (host and
    session alike), in (-1, 1): a hot session draws more traffic and more likes (MODEL.md:
    +0.21 celebrity, +0.46 KOL)."""
    corr_traffic_conversion: float = 0.26
    """Correlation of the traffic and conversion cores, in (-1, 1) (MODEL.md: views with
    units per view +0.35 celebrity, +0.17 KOL)."""
    corr_conversion_engagement: float = -0.15
    """Correlation of the conversion and engagement cores, in (-1, 1) (MODEL.md: -0.13,
    -0.17)."""
    drift: float = 1.0
    """Multiplier of every influencer's drift sds (``<metric>_drift_sd``), in [0, 3]; 0: a
    host's level stands still over time (the model before the time layer)."""
    market_factor: float = 1.0
    """Multiplier of every influencer's loadings on the market factor
    (``<metric>_market_sd``), in [0, 3]; 0: campaigns and sessions do not move together
    beyond their hosts."""
    market_weeks: float = 4.0
    """Correlation time of the weekly market factor, weeks, in [0.1, 520]: its lag-1
    correlation is exp(-1 / market_weeks) (0.78 at the default)."""
    market_stay_correlation: float = 0.7
    """Correlation of the mega and the other tiers' market factor on stay, in [0, 1)
    (MODEL.md: +0.7; on traffic, conversion and engagement the two are independent)."""
    stay_step: float = 0.1
    """Finest spacing of the nodes on which the stay multiplier is drawn, log units, in
    [0.02, 0.5]: the exposure rates of the cohort kernel are prepared once per node, so both
    kernels draw the stay effect rounded to the nearest node (a spacing h adds an sd of
    h / sqrt(12) to log stay: 0.029 at 0.1). A session has at most 40 nodes
    (`forecast.engine.limits.MAX_STAY_NODES`): a wider stay law (a host not yet known) gets
    wider nodes, 0.14 for a KOL-class preset."""

    def __post_init__(self) -> None:
        o = "market"
        set_ = object.__setattr__
        set_(self, "trust_penalty", v.probability(o, "trust_penalty", self.trust_penalty))
        set_(
            self,
            "trust_fade_days",
            v.positive(o, "trust_fade_days", self.trust_fade_days, allow_inf=True),
        )
        set_(self, "saturation", v.probability(o, "saturation", self.saturation))
        for name in ("discount_sensitivity", "category_sensitivity", "assortment_sensitivity"):
            set_(self, name, _tier_values(o, name, getattr(self, name)))
        set_(
            self,
            "reference_discount",
            v.in_range(o, "reference_discount", self.reference_discount, 0, 1, hi_open=True),
        )
        for name in ("reference_categories", "reference_assortment"):
            set_(self, name, v.in_range(o, name, getattr(self, name), 1, 10_000))
        set_(
            self,
            "shared_audience",
            v.integer(o, "shared_audience", self.shared_audience, 1, MAX_PEOPLE),
        )
        set_(
            self, "core_people", v.in_range(o, "core_people", self.core_people, 0, 1, lo_open=True)
        )
        set_(self, "core_arrivals", v.probability(o, "core_arrivals", self.core_arrivals))
        set_(self, "traffic_noise", v.non_negative(o, "traffic_noise", self.traffic_noise, 3))
        for name in ("ramp_minutes", "tail_minutes"):
            set_(self, name, v.non_negative(o, name, getattr(self, name), 48 * 60))
        set_(self, "burst_minutes", v.non_negative(o, "burst_minutes", self.burst_minutes, 60))
        set_(self, "burst_lift", v.non_negative(o, "burst_lift", self.burst_lift, 100))
        for name in ("ramp_start", "tail_end"):
            set_(self, name, v.probability(o, name, getattr(self, name)))
        set_(
            self,
            "video_half_life_days",
            v.in_range(o, "video_half_life_days", self.video_half_life_days, 0.01, 365),
        )
        set_(
            self,
            "video_dwell_mean_s",
            v.in_range(o, "video_dwell_mean_s", self.video_dwell_mean_s, 0.1, 86_400),
        )
        for name in ("episode_reach_decay", "gift_share"):
            set_(self, name, v.probability(o, name, getattr(self, name)))
        set_(
            self,
            "bin_minutes",
            v.in_range(o, "bin_minutes", self.bin_minutes, 0.1, 60),
        )
        set_(
            self, "host_uncertainty", v.in_range(o, "host_uncertainty", self.host_uncertainty, 0, 3)
        )
        set_(self, "session_effects", v.probability(o, "session_effects", self.session_effects))
        for name in CORRELATIONS:
            set_(
                self,
                name,
                v.in_range(o, name, getattr(self, name), -1, 1, lo_open=True, hi_open=True),
            )
        if self.cholesky() is None:
            raise v.fail(
                o,
                "corr_conversion_engagement",
                self.corr_conversion_engagement,
                "the three correlations of traffic, conversion and engagement must form a "
                "valid correlation matrix (positive definite)",
            )
        set_(self, "stay_step", v.in_range(o, "stay_step", self.stay_step, 0.02, 0.5))
        for name in ("drift", "market_factor"):
            set_(self, name, v.in_range(o, name, getattr(self, name), 0, 3))
        set_(self, "market_weeks", v.in_range(o, "market_weeks", self.market_weeks, 0.1, 520))
        set_(
            self,
            "market_stay_correlation",
            v.in_range(
                o, "market_stay_correlation", self.market_stay_correlation, 0, 1, hi_open=True
            ),
        )

    def replace(self, **changes: Any) -> MarketParams:
        """A copy with some parameters changed (validated)."""
        return dataclasses.replace(self, **changes)

    def cholesky(self) -> tuple[float, float, float, float, float, float] | None:
        """Lower Cholesky factor (l00, l10, l11, l20, l21, l22) of the correlation matrix of
        the traffic, conversion and engagement cores; None if it is not positive definite."""
        r_tc, r_te, r_ce = (
            self.corr_traffic_conversion,
            self.corr_traffic_engagement,
            self.corr_conversion_engagement,
        )
        l11_sq = 1.0 - r_tc * r_tc
        if l11_sq <= 0.0:
            return None
        l11 = math.sqrt(l11_sq)
        l21 = (r_ce - r_te * r_tc) / l11
        l22_sq = 1.0 - r_te * r_te - l21 * l21
        if l22_sq <= 1e-12:
            return None
        return (1.0, r_tc, l11, r_te, l21, math.sqrt(l22_sq))


@dataclass(frozen=True)
class Product:
    """A product of the brand. Identity across sessions is its ``name``."""

    name: str
    list_price: float
    """List price per unit, CNY, in (0, `MAX_PRICE`]."""
    unit_cost: float = 0.0
    """Cost of one unit to the brand, CNY, in [0, `MAX_PRICE`]; returned units are restocked
    at no cost."""
    category: str = "general"
    """Product category. Without a ``return_rate`` it must be one of the categories of
    `forecast.model.presets.CATEGORY_RETURN_RATES` (apparel, shoes, beauty, personal_care,
    electronics, home, food, general), which sets the return rate; with one, any name."""
    discount: float = 0.0
    """Default discount off list price, fraction in [0, 1); a session may override it."""
    return_rate: float | None = None
    """Probability an order is returned or refunded, [0, 1]; None: the category default."""
    units_per_order: float = 1.2
    """Mean units per order, in [1, 10]; units = 1 + Poisson(units_per_order - 1)."""
    kind: Kind = Kind.GOODS
    """``goods`` (shipped, may be returned at ``return_rate``) or ``voucher`` (redeemed in the
    store: revenue only when verified; unverified vouchers are refunded; unit cost is incurred
    only for verified ones)."""
    verify_prob: float = 0.85
    """Voucher only: probability a buyer means to use the voucher, [0, 1]."""
    validity_days: float = 30.0
    """Voucher only: days after purchase within which it must be verified, in [0, 3650]."""
    verify_delay_days: float = 7.0
    """Voucher only: mean of the exponential delay from purchase to the store visit, days, in
    [0.001, 3650].
    A voucher is verified with probability verify_prob * (1 - exp(-validity/delay))."""

    def __post_init__(self) -> None:
        name = v.text("product", "name", self.name)
        o = f"product {name!r}"
        set_ = object.__setattr__
        set_(self, "list_price", v.positive(o, "list_price", self.list_price, MAX_PRICE))
        set_(self, "unit_cost", v.non_negative(o, "unit_cost", self.unit_cost, MAX_PRICE))
        set_(self, "category", v.text(o, "category", self.category))
        set_(self, "discount", v.in_range(o, "discount", self.discount, 0, 1, hi_open=True))
        if self.return_rate is None:
            from forecast.model.presets import CATEGORY_RETURN_RATES

            v.choice(
                f"{o} (no return_rate given, so the category sets it)",
                "category",
                self.category,
                CATEGORY_RETURN_RATES,
            )
            set_(self, "return_rate", CATEGORY_RETURN_RATES[self.category])
        else:
            set_(self, "return_rate", v.probability(o, "return_rate", self.return_rate))
        set_(self, "units_per_order", v.in_range(o, "units_per_order", self.units_per_order, 1, 10))
        set_(self, "kind", parse_enum(Kind, o, "kind", self.kind))
        set_(self, "verify_prob", v.probability(o, "verify_prob", self.verify_prob))
        set_(self, "validity_days", v.non_negative(o, "validity_days", self.validity_days, 3650))
        set_(
            self,
            "verify_delay_days",
            v.in_range(o, "verify_delay_days", self.verify_delay_days, 0.001, 3650),
        )

    @property
    def returns(self) -> float:
        """The return probability (resolved from the category if not given)."""
        assert self.return_rate is not None
        return self.return_rate

    @property
    def verified_share(self) -> float:
        """Voucher: probability a sold voucher is verified within its validity window."""
        return self.verify_prob * -math.expm1(-self.validity_days / self.verify_delay_days)


@dataclass(frozen=True)
class Influencer:
    """An influencer and their terms. `Influencer.preset` builds one from the reference
    figures of a tier; any field can be overridden."""

    name: str
    tier: Tier
    followers: int
    """Own follower pool, people, in [1, `MAX_PEOPLE`]; repeat sessions of one influencer
    share it."""
    views_per_hour: float
    """Arrival rate on the plateau at median traffic, arrivals per hour, in
    [0, `MAX_VIEWS_PER_HOUR`]."""
    traffic_sigma: float
    """Sd of the log of the per-session traffic multiplier (lognormal, median 1), in
    [0, `MAX_TRAFFIC_SIGMA`]."""
    shared_share: float
    """Share of arrivals from the shared market audience (platform recommendations), [0, 1];
    the rest come from the influencer's own followers."""
    dwell_mean_s: float
    """Mean watch time per arrival, seconds, in [0.1, 86400]; log-logistic, heavy-tailed."""
    dwell_shape: float
    """Log-logistic shape (tail index) of watch time, in (1, 20]; smaller is heavier."""
    conversion: float
    """Probability that an exposed viewer who never bought buys, at the market's reference
    discount, categories and assortment, [0, 1]."""
    likes_per_minute: float
    """Likes per minute of watch time, in [0, 1000]. A session's likes are Poisson with mean
    likes_per_minute x its watch minutes, where watch time is credited at the session's
    expected stay per arrival (see README, "Engagement")."""
    comments_per_minute: float
    """Comments per minute of watch time, in [0, 1000]."""
    gifts_per_hour: float
    """Virtual gifts per hour of watch time, in [0, 100000]."""
    gift_value_mean: float
    """Mean value of one gift, CNY, in (0, 1e6]; gamma-distributed, so the value of any number of
    gifts is drawn exactly in one step."""
    gift_value_cv: float
    """Coefficient of variation of one gift's value, in [0, 20] (0: every gift is worth the
    mean); 3 makes most gifts cheap and a few worth hundreds of CNY."""
    slot_fee: float
    """Fixed fee per session for the brand's slot, CNY, in [0, `MAX_FEE`]."""
    commission_rate: float
    """Commission on net sales, fraction in [0, 1]."""
    assortment: int
    """Products presented per stream by default (>= 1)."""
    categories: int
    """Categories per stream by default (>= 1)."""
    video_views: float = 0.0
    """Expected views of one short video at median traffic, over its whole life, in
    [0, `MAX_VIDEO_VIEWS`]."""
    video_level: int | None = None
    """Amateur anchors only: platform level for video selling, 0-8."""
    live_level: int | None = None
    """Amateur anchors only: platform level for livestream selling, 0-8."""
    channel: Channel = Channel.DIRECT
    """How the influencer was engaged; sets an amateur's default terms."""
    agency_share: float = 0.0
    """Share of the influencer's commission and fees kept by an agency (MCN), [0, 1]."""
    experience_cost: float = 0.0
    """Cost to the merchant of a free experience (e.g. a meal) per store visit, CNY, in
    [0, `MAX_FEE`]."""

    # --- how much this host's sessions vary (session effects, `forecast.model.spread`) ------
    # Each session of a path draws one multiplier per metric, shared by all its viewers:
    # exp(X - median X) with X = sigma Z + J, J a flop (-Exp(flop_mean), with probability
    # flop_prob) or a hit (+Exp(hit_mean), with probability hit_prob). None: the tier's
    # default (`forecast.model.presets.SESSION_SPREAD`), fitted to real sessions.
    traffic_flop_prob: float | None = None
    """Session traffic (views per hour): probability of a flop, [0, 0.5]."""
    traffic_flop_mean: float | None = None
    """Session traffic: mean size of a flop, log units, [0.01, 10]."""
    traffic_hit_prob: float | None = None
    """Session traffic: probability of a hit, [0, 0.5]; its core sd is ``traffic_sigma``."""
    traffic_hit_mean: float | None = None
    """Session traffic: mean size of a hit, log units, [0.01, 0.45] (finite variance)."""
    conversion_sigma: float | None = None
    """Session conversion (units per view): sd of the normal core, log units, [0, 3]."""
    conversion_flop_prob: float | None = None
    """Session conversion: probability of a flop (a session where little sells), [0, 0.5]."""
    conversion_flop_mean: float | None = None
    """Session conversion: mean size of a flop, log units, [0.01, 10]."""
    conversion_hit_prob: float | None = None
    """Session conversion: probability of a hit, [0, 0.5]."""
    conversion_hit_mean: float | None = None
    """Session conversion: mean size of a hit, log units, [0.01, 0.45]."""
    engagement_sigma: float | None = None
    """Session engagement (likes, comments and gifts per minute watched): sd of the core,
    log units, [0, 3]."""
    engagement_flop_prob: float | None = None
    """Session engagement: probability of a flop, [0, 0.5]."""
    engagement_flop_mean: float | None = None
    """Session engagement: mean size of a flop, log units, [0.01, 10]."""
    engagement_hit_prob: float | None = None
    """Session engagement: probability of a hit, [0, 0.5]."""
    engagement_hit_mean: float | None = None
    """Session engagement: mean size of a hit, log units, [0.01, 0.45]."""
    stay_sigma: float | None = None
    """Session stay (every viewer's watch time): sd of the core, log units, [0, 3]."""
    stay_flop_prob: float | None = None
    """Session stay: probability of a flop, [0, 0.5]."""
    stay_flop_mean: float | None = None
    """Session stay: mean size of a flop, log units, [0.01, 10]."""
    stay_hit_prob: float | None = None
    """Session stay: probability of a hit, [0, 0.5]."""
    stay_hit_mean: float | None = None
    """Session stay: mean size of a hit, log units, [0.01, 0.45]."""

    # --- what we do not know about this host (influencer effects) ---------------------------
    # Each path draws this host's own levels once, shared by all its sessions on the path:
    # log multipliers normal with these sds, keyed by (seed, path, influencer name), so two
    # strategies booking the same influencer meet the same draw. A preset carries its tier's
    # between-host spread; an influencer built by hand is known (0) unless these are given.
    host_traffic_sd: float = 0.0
    """Between-host sd of the log of this host's traffic level, [0, 3]."""
    host_conversion_sd: float = 0.0
    """Between-host sd of the log of this host's conversion level, [0, 3]."""
    host_engagement_sd: float = 0.0
    """Between-host sd of the log of this host's engagement level, [0, 3]."""
    host_stay_sd: float = 0.0
    """Between-host sd of the log of this host's watch-time level, [0, 3]."""

    # --- how this host moves over time (`forecast.model.drift`) ------------------------------
    # Its level drifts (a mean-reverting process per path, keyed by seed, path and name) and
    # every session also moves with the market factor of its week. None: the tier's default
    # in ``edition``.
    drift_days: float | None = None
    """Correlation time of the drift, days, in [0.5, 3650]: two sessions ``g`` days apart
    share exp(-g / drift_days) of it."""
    traffic_drift_sd: float | None = None
    """Stationary sd of the drift of log traffic (views per hour), log units, [0, 3]."""
    conversion_drift_sd: float | None = None
    """Stationary sd of the drift of log conversion (units per view), log units, [0, 3]."""
    engagement_drift_sd: float | None = None
    """Stationary sd of the drift of log engagement (likes per view), log units, [0, 3]."""
    stay_drift_sd: float | None = None
    """Stationary sd of the drift of log watch time, log units, [0, 3]."""
    traffic_market_sd: float | None = None
    """Loading on the market factor of log traffic: its weekly sd, log units, [0, 2]."""
    conversion_market_sd: float | None = None
    """Loading on the market factor of log conversion, log units, [0, 2]."""
    engagement_market_sd: float | None = None
    """Loading on the market factor of log engagement, log units, [0, 2]."""
    stay_market_sd: float | None = None
    """Loading on the market factor of log watch time, log units, [0, 2]."""
    as_of: datetime.date | None = None
    """A fitted host: the date of its last session, whose level it carries (its drift starts
    there from 0, so a session g days later has drifted by sd x sqrt(1 - exp(-2 g /
    drift_days))). None: a host whose level is drawn afresh (stationary)."""
    edition: str = "2026-12"
    """Edition of the tier defaults (`forecast.model.presets.EDITIONS`) that fill the fields
    left None; ``2026-11`` is the model before the time layer."""

    def __post_init__(self) -> None:
        name = v.text("influencer", "name", self.name)
        o = f"influencer {name!r}"
        set_ = object.__setattr__
        set_(self, "tier", Tier.parse(self.tier, o))
        set_(self, "followers", v.integer(o, "followers", self.followers, 1, MAX_PEOPLE))
        set_(
            self,
            "views_per_hour",
            v.non_negative(o, "views_per_hour", self.views_per_hour, MAX_VIEWS_PER_HOUR),
        )
        set_(
            self,
            "traffic_sigma",
            v.in_range(o, "traffic_sigma", self.traffic_sigma, 0, MAX_TRAFFIC_SIGMA),
        )
        set_(self, "shared_share", v.probability(o, "shared_share", self.shared_share))
        set_(self, "dwell_mean_s", v.in_range(o, "dwell_mean_s", self.dwell_mean_s, 0.1, 86_400))
        set_(
            self,
            "dwell_shape",
            v.in_range(o, "dwell_shape", self.dwell_shape, 1, 20, lo_open=True),
        )
        set_(self, "conversion", v.probability(o, "conversion", self.conversion))
        for name_, hi in (
            ("likes_per_minute", 1_000.0),
            ("comments_per_minute", 1_000.0),
            ("gifts_per_hour", 100_000.0),
        ):
            set_(self, name_, v.non_negative(o, name_, getattr(self, name_), hi))
        set_(self, "gift_value_mean", v.positive(o, "gift_value_mean", self.gift_value_mean, 1e6))
        set_(self, "gift_value_cv", v.in_range(o, "gift_value_cv", self.gift_value_cv, 0, 20))
        set_(self, "slot_fee", v.non_negative(o, "slot_fee", self.slot_fee, MAX_FEE))
        set_(self, "commission_rate", v.probability(o, "commission_rate", self.commission_rate))
        set_(self, "assortment", v.integer(o, "assortment", self.assortment, 1, 10_000))
        set_(self, "categories", v.integer(o, "categories", self.categories, 1, 1_000))
        set_(
            self,
            "video_views",
            v.non_negative(o, "video_views", self.video_views, MAX_VIDEO_VIEWS),
        )
        for lvl in ("video_level", "live_level"):
            value = getattr(self, lvl)
            if self.tier is Tier.AMATEUR:
                if value is None:
                    raise v.fail(o, lvl, value, "an amateur anchor needs a level 0-8")
                set_(self, lvl, v.integer(o, lvl, value, 0, 8))
            elif value is not None:
                raise v.fail(o, lvl, value, "platform levels are for amateur anchors only")
        set_(self, "channel", parse_enum(Channel, o, "channel", self.channel))
        set_(self, "agency_share", v.probability(o, "agency_share", self.agency_share))
        set_(
            self,
            "experience_cost",
            v.non_negative(o, "experience_cost", self.experience_cost, MAX_FEE),
        )
        from forecast.model.presets import check_edition, session_spread, time_layer

        edition = check_edition(o, self.edition)
        set_(self, "edition", edition)
        tier_spread = session_spread(self.tier, edition)
        for metric in SPREAD_METRICS:
            for part, lo, hi in SPREAD_PARTS:
                name_ = f"{metric}_{part}"
                if metric == "traffic" and part == "sigma":
                    continue  # traffic_sigma, checked above
                value = getattr(self, name_)
                value = tier_spread[name_] if value is None else value
                set_(self, name_, v.in_range(o, name_, value, lo, hi))
            flop, hit = getattr(self, f"{metric}_flop_prob"), getattr(self, f"{metric}_hit_prob")
            if flop + hit > 1.0:
                raise v.fail(o, f"{metric}_hit_prob", hit, f"{metric}_flop_prob + it <= 1")
        for name_ in HOST_FIELDS:
            set_(self, name_, v.in_range(o, name_, getattr(self, name_), 0, 3))
        tier_time = time_layer(self.tier, edition)
        for name_, lo, hi in TIME_FIELDS:
            value = getattr(self, name_)
            value = tier_time[name_] if value is None else value
            set_(self, name_, v.in_range(o, name_, value, lo, hi))
        if self.as_of is not None:
            set_(self, "as_of", v.date(o, "as_of", self.as_of))

    @classmethod
    def preset(cls, tier: Tier | str, name: str | None = None, **overrides: Any) -> Influencer:
        """An influencer of ``tier`` with the reference-calibrated defaults of
        `forecast.model.presets`, named ``name`` (default: the tier), fields overridden by
        keyword."""
        from forecast.model.presets import influencer_defaults

        t = Tier.parse(tier)
        values = influencer_defaults(
            t,
            video_level=overrides.get("video_level"),
            live_level=overrides.get("live_level"),
            channel=overrides.get("channel"),
            owner=f"influencer {name or t.value!r}",
            edition=overrides.get("edition", "2026-12"),
        )
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            bad = sorted(unknown)[0]
            allowed = ", ".join(f.name for f in dataclasses.fields(cls))
            raise v.fail(
                f"influencer {name or t.value!r}",
                bad,
                overrides[bad],
                f"unknown field; allowed: {allowed}",
            )
        values.update(overrides)
        values["name"] = name or t.value
        values["tier"] = t
        return cls(**values)

    def replace(self, **changes: Any) -> Influencer:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def law(self, metric: str) -> EffectLaw:
        """The law of this host's session effect on ``metric`` (traffic, conversion,
        engagement or stay), before ``market`` scales it."""
        from forecast.model.spread import EffectLaw

        sd = self.traffic_sigma if metric == "traffic" else getattr(self, f"{metric}_sigma")
        return EffectLaw(
            sd,
            getattr(self, f"{metric}_flop_prob"),
            getattr(self, f"{metric}_flop_mean"),
            getattr(self, f"{metric}_hit_prob"),
            getattr(self, f"{metric}_hit_mean"),
        )

    def without_spread(self) -> Influencer:
        """This influencer as a known host whose sessions do not vary beyond its traffic
        sigma: every session-effect field, host sd, drift and market loading zero (the model
        before the effects)."""
        zero: dict[str, float] = {name_: 0.0 for name_ in HOST_FIELDS}
        zero.update({name_: 0.0 for name_, _, _ in TIME_FIELDS if name_ != "drift_days"})
        for metric in SPREAD_METRICS:
            for part in ("sigma", "flop_prob", "hit_prob"):
                if not (metric == "traffic" and part == "sigma"):
                    zero[f"{metric}_{part}"] = 0.0
        return self.replace(**zero)

    @property
    def is_mega(self) -> bool:
        """Whether the trust asymmetry treats this influencer as mega."""
        return self.tier is Tier.MEGA


DEFAULT_SESSION_HOURS = 5.4
#: Shortest session (and shortest count of a video's views), hours: a minute.
MIN_SESSION_HOURS = 1.0 / 60.0

#: Most sessions one strategy may hold (the kernels' layout has the same bound,
#: `kernels.layout.MAX_SESSIONS`; a test keeps the two equal).
MAX_SESSIONS = 32_000
"""Average livestream duration in the study, hours."""


@dataclass(frozen=True)
class Session:
    """One livestream: an influencer presenting the brand's products in order."""

    influencer: Influencer
    products: tuple[Product, ...]
    """The brand's products, in presentation order (distinct names, at least one)."""
    day: float = 0.0
    """Start day in the campaign, days from its start, in [0, 36500]."""
    date: datetime.date | None = None
    """Calendar date of the session (instead of ``day``): the strategy sets ``day`` from it,
    counted from its ``start`` (default: its earliest session date)."""
    hours: float = DEFAULT_SESSION_HOURS
    """Duration, hours, in [1/60, 48] (at least a minute: shorter is a unit mistake)."""
    assortment: int | None = None
    """Products presented in the stream in all (the brand's and others'), >= the brand's;
    None: the influencer's default. Each gets an equal slot; more products dilute conversion."""
    categories: int | None = None
    """Categories in the stream, in [1, assortment]; None: the influencer's default."""
    positions: tuple[int, ...] | None = None
    """0-based slots of the brand's products among ``assortment``, increasing; None: spread
    evenly over the stream."""
    discounts: Mapping[str, float] = field(default_factory=dict)
    """Per-product discount overrides for this session, product name -> fraction in [0, 1)."""
    fit: float = 1.0
    """Fit between the products and this audience, multiplies conversion (>= 0)."""
    label: str | None = None
    """Identity of the session for common random numbers; None: "<influencer>#<k>", the k-th
    session of that influencer in the strategy (set by `Strategy`)."""
    format: Format = Format.LIVE
    """``live`` (``hours`` long) or ``video`` (views over ``days`` with a decaying tail; every
    view is exposed to every product of the video)."""
    days: float = 30.0
    """Video only: how long its views are counted, days, in [1/1440, 365] (at least a
    minute)."""
    episode: int = 1
    """Which episode cut from one store visit this is (>= 1). Each further episode reaches
    ``market.episode_reach_decay`` times the previous one; fees and the free experience are
    paid with episode 1 only."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.influencer, Influencer):
            raise v.fail("session", "influencer", self.influencer, "must be an Influencer")
        o = f"session of {self.influencer.name!r}"
        set_(self, "format", parse_enum(Format, o, "format", self.format))
        set_(self, "days", v.in_range(o, "days", self.days, MIN_SESSION_HOURS / 24, 365))
        set_(self, "episode", v.integer(o, "episode", self.episode, 1, 1000))
        products = tuple(self.products) if isinstance(self.products, Sequence) else self.products
        if not isinstance(products, tuple) or not products:
            raise v.fail(o, "products", self.products, "must be a non-empty list of Product")
        for p in products:
            if not isinstance(p, Product):
                raise v.fail(o, "products", p, "must contain Product objects")
        names = [p.name for p in products]
        if len(set(names)) != len(names):
            raise v.fail(o, "products", names, "must not list a product twice")
        set_(self, "products", products)
        set_(self, "day", v.non_negative(o, "day", self.day, 36_500))
        if self.date is not None:
            set_(self, "date", v.date(o, "date", self.date))
        set_(self, "hours", v.in_range(o, "hours", self.hours, MIN_SESSION_HOURS, 48))
        video = self.format is Format.VIDEO
        default_assortment = len(products) if video else self.influencer.assortment
        assortment = default_assortment if self.assortment is None else self.assortment
        assortment = v.integer(o, "assortment", assortment, 1, 10_000)
        if assortment < len(products):
            raise v.fail(
                o, "assortment", assortment, f"must be >= the {len(products)} brand products"
            )
        set_(self, "assortment", assortment)
        default_cats = 1 if video else self.influencer.categories
        cats = default_cats if self.categories is None else self.categories
        set_(self, "categories", v.integer(o, "categories", cats, 1, assortment))
        if self.positions is None:
            k = len(products)
            pos = tuple(int((i + 0.5) * assortment / k) for i in range(k))
        else:
            given = v.sequence(o, "positions", self.positions, "slot indices")
            pos = tuple(v.integer(o, "positions", x, 0, assortment - 1) for x in given)
            if len(pos) != len(products) or any(b <= a for a, b in pairwise(pos)):
                raise v.fail(
                    o,
                    "positions",
                    list(given),
                    f"must be {len(products)} increasing slot indices in [0, {assortment - 1}]",
                )
        set_(self, "positions", pos)
        if not isinstance(self.discounts, Mapping):
            raise v.fail(o, "discounts", self.discounts, "must map product names to discounts")
        discounts = {}
        for key, d in self.discounts.items():
            if not isinstance(key, str) or key not in names:
                raise v.fail(o, "discounts", key, f"names no product of the session ({names})")
            discounts[key] = v.in_range(o, f"discounts[{key!r}]", d, 0, 1, hi_open=True)
        set_(self, "discounts", discounts)
        set_(self, "fit", v.in_range(o, "fit", self.fit, 0, 1000))
        if self.label is not None:
            set_(self, "label", v.text(o, "label", self.label))

    def discount(self, product: Product) -> float:
        """Discount of ``product`` in this session, fraction."""
        return self.discounts.get(product.name, product.discount)

    @property
    def span_hours(self) -> float:
        """Hours over which the session draws arrivals (a video: its ``days``)."""
        return self.days * 24.0 if self.format is Format.VIDEO else self.hours

    @property
    def pays_fees(self) -> bool:
        """Whether this session carries its influencer's fees and free experience."""
        return self.episode == 1

    def replace(self, **changes: Any) -> Session:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Strategy:
    """A campaign: sessions in time order (non-decreasing ``day``), one brand's products."""

    sessions: tuple[Session, ...]
    market: MarketParams = field(default_factory=MarketParams)
    name: str = "strategy"
    start: datetime.date | None = None
    """Calendar date of day 0; None: the earliest session ``date`` if any session has one,
    else the campaign has no date (its weeks of the market factor count from day 0)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        name = v.text("strategy", "name", self.name)
        o = f"strategy {name!r}"
        sessions = tuple(self.sessions) if isinstance(self.sessions, Sequence) else None
        if not sessions:
            raise v.fail(o, "sessions", self.sessions, "needs at least one session")
        if len(sessions) > MAX_SESSIONS:
            raise v.fail(o, "sessions", len(sessions), f"at most {MAX_SESSIONS} sessions")
        if not isinstance(self.market, MarketParams):
            raise v.fail(o, "market", self.market, "must be MarketParams")
        sessions = _dated(o, sessions, self.start)
        if sessions and any(isinstance(s, Session) and s.date is not None for s in sessions):
            if self.start is None:
                set_(self, "start", min(s.date for s in sessions if s.date is not None))
        if self.start is not None:
            set_(self, "start", v.date(o, "start", self.start))
        influencers: dict[str, Influencer] = {}
        products: dict[str, Product] = {}
        seen: dict[str, int] = {}
        labelled = []
        for i, s in enumerate(sessions):
            if not isinstance(s, Session):
                raise v.fail(o, f"sessions[{i}]", s, "must be a Session")
            if i and s.day < sessions[i - 1].day:
                raise v.fail(
                    o,
                    f"sessions[{i}].day",
                    s.day,
                    f"sessions must be in time order; the previous session starts on day "
                    f"{sessions[i - 1].day:g}",
                )
            inf = s.influencer
            if influencers.setdefault(inf.name, inf) != inf:
                raise v.fail(
                    o,
                    f"sessions[{i}].influencer",
                    inf.name,
                    "one name, one influencer: two different influencers share this name",
                )
            for p in s.products:
                if products.setdefault(p.name, _product_identity(p)) != _product_identity(p):
                    raise v.fail(
                        o,
                        f"sessions[{i}].products",
                        p.name,
                        "a product name must "
                        "mean the same price, cost, category and return rate throughout; "
                        "vary the discount with the session's discounts",
                    )
            k = seen.get(inf.name, 0)
            seen[inf.name] = k + 1
            labelled.append(s if s.label is not None else s.replace(label=f"{inf.name}#{k}"))
        labels = [s.label for s in labelled]
        if len(set(labels)) != len(labels):
            raise v.fail(o, "sessions", labels, "session labels must be distinct")
        for inf in influencers.values():
            sigma = inf.traffic_sigma * self.market.traffic_noise
            if sigma > MAX_TRAFFIC_SIGMA:
                raise v.fail(
                    o,
                    "market.traffic_noise",
                    self.market.traffic_noise,
                    f"with influencer {inf.name!r}'s traffic_sigma = {inf.traffic_sigma:g} the "
                    f"sd of log traffic would be {sigma:g}; at most {MAX_TRAFFIC_SIGMA:g}",
                )
        set_(self, "sessions", tuple(labelled))

    @property
    def products(self) -> tuple[Product, ...]:
        """Distinct products in order of first appearance."""
        out: dict[str, Product] = {}
        for s in self.sessions:
            for p in s.products:
                out.setdefault(p.name, p)
        return tuple(out.values())

    @property
    def influencers(self) -> tuple[Influencer, ...]:
        """Distinct influencers in order of first appearance."""
        out: dict[str, Influencer] = {}
        for s in self.sessions:
            out.setdefault(s.influencer.name, s.influencer)
        return tuple(out.values())

    def replace(self, **changes: Any) -> Strategy:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def with_market(self, **changes: Any) -> Strategy:
        """A copy whose market parameters are changed, e.g. ``trust_penalty=0``."""
        return self.replace(market=self.market.replace(**changes))


def _dated(owner: str, sessions: tuple[Any, ...], start: datetime.date | None) -> tuple[Any, ...]:
    """``sessions`` with ``day`` set from each dated session's ``date`` (counted from
    ``start``, default the earliest date); a session that gives both must agree."""
    dates = [s.date for s in sessions if isinstance(s, Session) and s.date is not None]
    if not dates:
        return sessions
    origin: datetime.date = v.date(owner, "start", start) if start is not None else min(dates)
    out = []
    for i, s in enumerate(sessions):
        if isinstance(s, Session) and s.date is not None:
            day = float((s.date - origin).days)
            if day < 0:
                raise v.fail(
                    owner,
                    f"sessions[{i}].date",
                    s.date.isoformat(),
                    f"must not be before the campaign's start ({origin.isoformat()})",
                )
            if s.day not in (0.0, day):
                raise v.fail(
                    owner,
                    f"sessions[{i}].day",
                    s.day,
                    f"give a date or a day, not both (its date {s.date.isoformat()} is day "
                    f"{day:g})",
                )
            s = s.replace(day=day)
        out.append(s)
    return tuple(out)


def _product_identity(p: Product) -> Product:
    return dataclasses.replace(p, discount=0.0)
