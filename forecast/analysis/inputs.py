"""Uncertain inputs of a strategy, for `forecast.analysis.sensitivity`: which model field an
input names, the law its value follows, and the strategy with chosen values put in.

An input's name is ``<owner>.<field>``:

* ``market.<field>`` (``market.trust_penalty``), or ``market.<table>.<tier>`` for a tier
  table (``market.discount_sensitivity.mega``);
* ``<influencer>.<field>`` (``star.conversion``, ``amy.slot_fee``);
* ``<product>.<field>`` (``serum.unit_cost``, ``serum.list_price``);
* ``<session label>.<field>`` (``star#0.discount``: every product's discount in that session;
  ``star#0.hours``, ``.assortment``, ``.categories``, ``.fit``).

Its law (`Law`): a range ``(low, high)`` (uniform), ``{dist = "normal", mean, sd}``,
``{dist = "lognormal", median, sd_log}`` (both sampled between their 0.1 % and 99.9 %
quantiles), ``{dist = "triangular", low, mode, high}``, or
``"posterior"``: the uncertainty an influencer's level carries, on ``views_per_hour``,
``conversion``, ``dwell_mean_s`` or ``likes_per_minute``: lognormal around its value with its
``host_*_sd``, which for a host fitted to past sessions is the fit's posterior sd and for a
preset the tier's between-host spread. In an
evaluation the host is then at that value on every path (its ``host_*_sd`` is set to 0), so
the input's share is what not knowing that level costs.

A field that shapes a session's arrivals or watch time (views per hour, hours, products in
the stream, the watch-time law, the market's arrival profile) needs the session's
watch-time integrals computed again for each value, about half a second each; such inputs
are taken on a grid of `SHAPE_LEVELS` values of their law (the quantiles at equally spaced
probabilities from the range's bounds, or from 0.1 % to 99.9 % of an unbounded law; a
value is moved to the nearest), so that a design of thousands of evaluations computes them
a few times per input. The grid holds a range's bounds and Morris's four levels. Every
other field is taken at its exact value.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from forecast.model import validation as v
from forecast.model.entities import (
    Influencer,
    MarketParams,
    Product,
    Session,
    Strategy,
    TierValues,
)

#: Values a shape-changing input takes (see the module docstring): 16, so that Morris's 4
#: levels (0, 1/3, 2/3, 1) fall on the grid.
SHAPE_LEVELS = 16

#: Fields whose change needs new watch-time integrals.
SHAPE_FIELDS = {
    "influencer": {"views_per_hour", "video_views", "dwell_mean_s", "dwell_shape", "assortment"},
    "session": {"hours", "assortment", "days"},
    "market": {
        "ramp_minutes",
        "ramp_start",
        "tail_minutes",
        "tail_end",
        "burst_lift",
        "burst_minutes",
        "bin_minutes",
        "video_half_life_days",
        "video_dwell_mean_s",
        "episode_reach_decay",
        "stay_step",
    },
}

#: Whole-number fields: a value is rounded.
INTEGER_FIELDS = {
    "followers",
    "assortment",
    "categories",
    "shared_audience",
    "video_level",
    "live_level",
    "episode",
}

#: The host level a ``"posterior"`` input draws, by field, and its posterior sd field.
POSTERIOR = {
    "views_per_hour": "host_traffic_sd",
    "conversion": "host_conversion_sd",
    "likes_per_minute": "host_engagement_sd",
    "dwell_mean_s": "host_stay_sd",
}

#: Probability of each tail an unbounded law (normal, lognormal) is cut at when sampled.
LAW_TAIL = 0.001

#: Probability of each tail left out of a law for the tornado's low and high (5 % / 95 %).
TORNADO_TAIL = 0.05

_SESSION_FIELDS = ("discount", "hours", "assortment", "categories", "fit", "day")
_DISTS = ("uniform", "normal", "lognormal", "triangular")


class InputError(ValueError):
    """An input that cannot be varied; the message names it."""


@dataclass(frozen=True)
class Law:
    """The law of an input's value: ``dist`` with its parameters (``low``/``high`` for
    uniform; ``mean``/``sd``; ``median``/``sd_log``; ``low``/``mode``/``high``)."""

    dist: str
    a: float
    b: float
    c: float = 0.0

    def ppf(self, u: float) -> float:
        """The value at probability ``u`` in (0, 1)."""
        if self.dist == "uniform":
            return self.b if u >= 1.0 else self.a + u * (self.b - self.a)
        if self.dist == "normal":
            return NormalDist(self.a, self.b).inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
        if self.dist == "lognormal":
            z = NormalDist().inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
            return self.a * math.exp(self.b * z)
        lo, mode, hi = self.a, self.c, self.b  # triangular
        cut = (mode - lo) / (hi - lo) if hi > lo else 0.5
        if u < cut:
            return lo + math.sqrt(u * (hi - lo) * (mode - lo))
        return hi - math.sqrt((1 - u) * (hi - lo) * (hi - mode))

    @property
    def low(self) -> float:
        """The tornado's low: the bound of a range, else the 5 % quantile."""
        return self.a if self.dist == "uniform" else self.ppf(TORNADO_TAIL)

    @property
    def high(self) -> float:
        return self.b if self.dist == "uniform" else self.ppf(1 - TORNADO_TAIL)

    def describe(self) -> str:
        return {
            "uniform": f"uniform {self.a:g} .. {self.b:g}",
            "normal": f"normal mean {self.a:g}, sd {self.b:g}",
            "lognormal": f"lognormal median {self.a:g}, sd of log {self.b:g}",
            "triangular": f"triangular {self.a:g} .. {self.b:g}, mode {self.c:g}",
        }[self.dist]


@dataclass(frozen=True)
class Input:
    """One uncertain input: its ``name``, what it changes (``kind``: market, influencer,
    product or session; ``owner``: the name; ``field``; ``sub``: a tier of a tier table),
    its ``law``, its ``base`` value in the strategy, and whether it takes a grid of values
    (``shape``) or is a host level with its posterior sd switched off (``posterior``)."""

    name: str
    kind: str
    owner: str
    field: str
    law: Law
    base: float
    shape: bool = False
    posterior: str | None = None
    sub: str | None = None

    def value(self, u: float) -> float:
        """The value at probability ``u`` (on the grid for a shape input; rounded for a
        whole-number field)."""
        bounded = self.law.dist in ("uniform", "triangular")
        lo, hi = (0.0, 1.0) if bounded else (LAW_TAIL, 1.0 - LAW_TAIL)  # unbounded: 99.8 %
        u = min(max(u, lo), hi)
        if self.shape:  # the nearest of SHAPE_LEVELS probabilities from lo to hi
            k = round((u - lo) / (hi - lo) * (SHAPE_LEVELS - 1))
            u = hi if k == SHAPE_LEVELS - 1 else lo + (hi - lo) * k / (SHAPE_LEVELS - 1)
        x = self.law.ppf(u)
        return float(round(x)) if self.field in INTEGER_FIELDS else x

    @property
    def low(self) -> float:
        """The tornado's low: a range's bound (on the grid, for a shape input) or the 5 %
        quantile."""
        if self.law.dist == "uniform":
            return self.value(0.0)
        return float(round(self.law.low)) if self.field in INTEGER_FIELDS else self.law.low

    @property
    def high(self) -> float:
        if self.law.dist == "uniform":
            return self.value(1.0)
        return float(round(self.law.high)) if self.field in INTEGER_FIELDS else self.law.high


def _number(name: str, key: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(float(x)):
        raise InputError(f"inputs: {name}.{key} = {v.echo(x)} is not allowed; a finite number")
    return float(x)


def parse_law(name: str, spec: Any, base: float, posterior_sd: float | None) -> Law:
    """A `Law` from a user's spec (see the module docstring)."""
    if isinstance(spec, str) and spec == "posterior":
        if posterior_sd is None:
            raise InputError(
                f"inputs: {name} = 'posterior' is not allowed; a posterior is the uncertainty "
                f"an influencer's level carries (a fitted host's posterior, a preset's "
                f"between-host spread), on {', '.join(POSTERIOR)}"
            )
        if not posterior_sd > 0:
            raise InputError(
                f"inputs: {name} = 'posterior' is not allowed; this influencer carries no "
                "posterior sd for it (a preset or a host without a fit): give a range"
            )
        return Law("lognormal", base, posterior_sd)
    if isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 2:
        lo, hi = (_number(name, k, x) for k, x in zip(("low", "high"), spec, strict=True))
        if not hi > lo:
            raise InputError(
                f"inputs: {name} = [{lo:g}, {hi:g}] is not allowed; low must be below high"
            )
        return Law("uniform", lo, hi)
    if isinstance(spec, Mapping):
        dist = spec.get("dist", "uniform")
        keys = {
            "uniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("median", "sd_log"),
            "triangular": ("low", "mode", "high"),
        }
        if dist not in keys:
            raise InputError(
                f"inputs: {name}.dist = {v.echo(dist)} is not allowed; one of {', '.join(_DISTS)}"
            )
        want = set(keys[dist]) | {"dist"}
        extra = set(spec) - want
        missing = set(keys[dist]) - set(spec)
        if extra or missing:
            raise InputError(
                f"inputs: {name} is not allowed as given; a {dist} law takes "
                f"{', '.join(keys[dist])}"
            )
        x = {k: _number(name, k, spec[k]) for k in keys[dist]}
        if dist == "uniform":
            return parse_law(name, (x["low"], x["high"]), base, posterior_sd)
        if dist == "normal":
            if not x["sd"] > 0:
                raise InputError(f"inputs: {name}.sd = {x['sd']:g} is not allowed; must be > 0")
            return Law("normal", x["mean"], x["sd"])
        if dist == "lognormal":
            if not x["median"] > 0 or not x["sd_log"] > 0:
                raise InputError(
                    f"inputs: {name} = lognormal({x['median']:g}, {x['sd_log']:g}) is not "
                    "allowed; median and sd_log must be > 0"
                )
            return Law("lognormal", x["median"], x["sd_log"])
        if not x["low"] <= x["mode"] <= x["high"] or not x["high"] > x["low"]:
            raise InputError(
                f"inputs: {name} = triangular({x['low']:g}, {x['mode']:g}, {x['high']:g}) is "
                "not allowed; needs low <= mode <= high and low < high"
            )
        return Law("triangular", x["low"], x["high"], x["mode"])
    raise InputError(
        f"inputs: {name} = {v.echo(spec)} is not allowed; a range [low, high], a table "
        "{dist = ..., ...} or 'posterior'"
    )


def _numeric_fields(cls: type) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.type in ("float", "int", "float | None", "int | None", "TierValues")
    ]


def resolve(strategy: Strategy, name: Any, spec: Any) -> Input:
    """The `Input` ``name`` names in ``strategy``, with the law ``spec`` gives it; every
    value of the law's range checked to be one the model accepts."""
    if not isinstance(name, str) or "." not in name:
        raise InputError(
            f"inputs: {v.echo(name)} is not allowed; an input is named <owner>.<field>, "
            "e.g. star.conversion, serum.unit_cost, market.trust_penalty, star#0.discount"
        )
    owner, _, field = name.partition(".")
    sub = None
    influencers = {i.name: i for i in strategy.influencers}
    products = {p.name: p for p in strategy.products}
    labels = {str(s.label): s for s in strategy.sessions}
    if owner == "market":
        kind = "market"
        if "." in field:
            field, _, sub = field.partition(".")
        allowed = _numeric_fields(MarketParams)
        current: Any = getattr(strategy.market, field, None)
        if isinstance(current, TierValues):
            if sub not in ("mega", "mid", "micro", "amateur"):
                raise InputError(
                    f"inputs: {name} is not allowed; {field} is a tier table: name a tier, "
                    f"e.g. market.{field}.mega"
                )
            current = getattr(current, sub)
        elif sub is not None and field in allowed:
            raise InputError(
                f"inputs: {name} is not allowed; market.{field} is a number, not a tier table"
            )
    elif owner in labels:
        kind, allowed = "session", list(_SESSION_FIELDS)
        session = labels[owner]
        current = (
            session.discount(session.products[0])
            if field == "discount"
            else getattr(session, field, None)
        )
    elif owner in influencers and owner in products:
        raise InputError(
            f"inputs: {name} is ambiguous; {owner!r} is both an influencer and a product"
        )
    elif owner in influencers:
        kind, allowed = "influencer", _numeric_fields(Influencer)
        current = getattr(influencers[owner], field, None)
    elif owner in products:
        kind, allowed = "product", _numeric_fields(Product)
        current = getattr(products[owner], field, None)
    else:
        known = ["market", *influencers, *products, *labels]
        close = difflib.get_close_matches(owner, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"inputs: {name} is not allowed; {owner!r} names nothing in strategy "
            f"{strategy.name!r}; {hint}owners: {', '.join(known)}"
        )
    if field not in allowed:
        close = difflib.get_close_matches(field, allowed, n=1)
        hint = f"did you mean {owner}.{close[0]}? " if close else ""
        raise InputError(
            f"inputs: {name} is not allowed; {field!r} is no numeric {kind} field; {hint}"
            f"fields: {', '.join(allowed)}"
        )
    if current is None:
        raise InputError(
            f"inputs: {name} is not allowed; it is unset for {owner!r} (the tier's law is used)"
        )
    posterior_sd = None
    posterior = None
    if kind == "influencer" and field in POSTERIOR:
        posterior = POSTERIOR[field]
        posterior_sd = float(getattr(influencers[owner], posterior))
    law = parse_law(name, spec, float(current), posterior_sd)
    is_posterior = isinstance(spec, str) and spec == "posterior"
    item = Input(
        name=name,
        kind=kind,
        owner=owner,
        field=field,
        law=law,
        base=float(current),
        shape=field in SHAPE_FIELDS.get(kind, set()),
        posterior=posterior if is_posterior else None,
        sub=sub,
    )
    for value in (item.low, item.high, item.value(0.0), item.value(1.0)):
        try:
            apply(strategy, [item], [value])
        except (ValueError, TypeError, ArithmeticError) as err:
            raise InputError(
                f"inputs: {name} = {value:g} ({law.describe()}) is not allowed: {err}"
            ) from None
    return item


def apply(strategy: Strategy, inputs: Sequence[Input], values: Sequence[float]) -> Strategy:
    """``strategy`` with each input at its value (validated as any model change is)."""
    market_changes: dict[str, Any] = {}
    inf_changes: dict[str, dict[str, Any]] = {}
    prod_changes: dict[str, dict[str, Any]] = {}
    sess_changes: dict[str, dict[str, Any]] = {}
    for item, raw in zip(inputs, values, strict=True):
        x: Any = int(raw) if item.field in INTEGER_FIELDS else float(raw)
        if item.kind == "market":
            if item.sub is not None:
                table = market_changes.get(item.field, getattr(strategy.market, item.field))
                market_changes[item.field] = dataclasses.replace(table, **{item.sub: x})
            else:
                market_changes[item.field] = x
        elif item.kind == "influencer":
            inf_changes.setdefault(item.owner, {})[item.field] = x
            if item.posterior is not None:
                inf_changes[item.owner][item.posterior] = 0.0
        elif item.kind == "product":
            prod_changes.setdefault(item.owner, {})[item.field] = x
        else:
            sess_changes.setdefault(item.owner, {})[item.field] = x
    influencers = {
        i.name: i.replace(**inf_changes[i.name]) if i.name in inf_changes else i
        for i in strategy.influencers
    }
    products = {
        p.name: dataclasses.replace(p, **prod_changes[p.name]) if p.name in prod_changes else p
        for p in strategy.products
    }
    sessions: list[Session] = []
    for s in strategy.sessions:
        change: dict[str, Any] = {
            "influencer": influencers[s.influencer.name],
            "products": tuple(products[p.name] for p in s.products),
        }
        mine = dict(sess_changes.get(str(s.label), {}))
        if "discount" in mine:
            d = mine.pop("discount")
            change["discounts"] = {p.name: d for p in s.products}
        change.update(mine)
        sessions.append(s.replace(**change))
    market = strategy.market.replace(**market_changes) if market_changes else strategy.market
    return Strategy(tuple(sessions), market, strategy.name)


def applies(strategy: Strategy, name: str) -> bool:
    """Whether the owner ``name`` names (market, an influencer, a product, a session label)
    is in ``strategy``."""
    owner = name.partition(".")[0]
    return (
        owner == "market"
        or owner in {i.name for i in strategy.influencers}
        or owner in {p.name for p in strategy.products}
        or owner in {str(s.label) for s in strategy.sessions}
    )


def resolve_all(strategy: Strategy, inputs: Any) -> list[Input]:
    """Every input of a mapping name -> law, checked; at least one, no name twice."""
    if not isinstance(inputs, Mapping) or not inputs:
        raise InputError(
            "inputs: must map at least one input name to its law, e.g. "
            "{'star.conversion': (0.01, 0.03)}"
        )
    return [resolve(strategy, name, spec) for name, spec in inputs.items()]


__all__ = [
    "SHAPE_LEVELS",
    "Input",
    "InputError",
    "Law",
    "applies",
    "apply",
    "parse_law",
    "resolve",
    "resolve_all",
]
