"""Plan spaces: the campaigns a brand could run, for `forecast.analysis.optimize` to search.

A space is a pool of candidate influencers (presets, hand-set, or fitted hosts), the
brand's products, the decisions and their ranges, and constraints. In a TOML file::

    name = "serum_launch"

    [[products]]                      # as in a strategy file; every session presents all
    name = "serum"
    list_price = 199.0
    unit_cost = 40.0
    category = "beauty"
    discount = 0.2                    # used when [decisions] sets no discount

    [[influencers]]                   # the pool, as in a strategy file (tier preset and
    name = "star"                     # overrides, or calibration = ... with host = ...)
    tier = "mega"
    slot_fee = 100000                 # its fee terms: slot_fee, commission_rate, ...
    hours = 5.5                       # length of its session when booked (default 5.4)

    [decisions]
    min_booked = 1                    # book at least / at most this many of the pool,
    max_booked = 3                    # each for one session
    order = "any"                     # "any": every order; "pool": the pool's order only
    gap_days = [3]                    # days between consecutive sessions (a list: choose)
    discount = [0.1, 0.2, 0.3, 0.4]   # a list, or { low = 0.1, high = 0.5 } (continuous),
                                      # or { low = 0.1, high = 0.5, step = 0.05 } (a grid)
    discount_per_session = false      # true: each session its own discount
    assortment = [20, 50, 80]         # products per stream (dilution); list or range;
                                      # leave out for each influencer's own
    assortment_per_session = false

    [constraints]                     # all optional
    budget = 150000                   # CNY: total fixed fees (slot fees, free experiences)
    max_p_loss = 0.3                  # P(profit < 0) at most this (checked on the paths)
    max_sessions = 3

    [search]                          # optional defaults of `forecast optimize`
    objective = "mean_profit"         # or mean_net_sales, cvar95, mean_cvar95, ...
    cvar_weight = 0.5                 # of mean_cvarNN
    paths = 4000                      # a candidate's paths at the last rung
    seed = 7
    budget_s = 60                     # wall seconds (no limit if left out)
    method = "auto"                   # the search: auto, exhaustive or optuna
    trials = 300                      # plans Optuna evaluates

    [market]                          # any MarketParams field

A `Plan` is one point of the space: who is booked in which order, each session's discount
and products per stream, and the days between sessions. `PlanSpace.strategy` turns it into
the `Strategy` that is simulated. A session's label is ``"<influencer>#0"``, so two plans that
book the same influencer meet the same draws of it (common random numbers).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecast.model import validation as v
from forecast.model.entities import (
    DEFAULT_SESSION_HOURS,
    MIN_SESSION_HOURS,
    Influencer,
    MarketParams,
    Product,
    Session,
    Strategy,
)
from forecast.model.strategy_file import (
    StrategyFileError,
    check_keys,
    influencers_from_list,
    market_from_dict,
    products_from_list,
    read_toml,
)

_TOP = (
    "name",
    "description",
    "market",
    "products",
    "influencers",
    "decisions",
    "constraints",
    "search",
)
_DECISIONS = (
    "min_booked",
    "max_booked",
    "order",
    "gap_days",
    "discount",
    "discount_per_session",
    "assortment",
    "assortment_per_session",
)
_CONSTRAINTS = ("budget", "max_p_loss", "max_sessions")
_SEARCH = ("objective", "cvar_weight", "paths", "seed", "budget_s", "trials", "method")
ORDERS = ("any", "pool")

#: Most candidates in a pool (a larger pool is many spaces: split it).
MAX_POOL = 64

#: Most lineups a space may have to be listed (counted, or searched exhaustively).
MAX_LISTED = 1_000_000

#: Most values one decision's grid (``{low, high, step}``) may hold: a finer grid is refused
#: before anything is listed (a step of 1e-12 would list 4e11 values); leave the step out
#: for a continuous range instead.
MAX_GRID = 10_000


@dataclass(frozen=True)
class Choice:
    """The values a decision may take: ``values`` (a list), or ``low`` .. ``high``, on a grid
    of ``step`` when given, continuous otherwise. ``integer``: whole numbers only."""

    values: tuple[float, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    integer: bool = False

    @property
    def count(self) -> int | None:
        """How many values the grid holds, counted without listing them; None for a
        continuous range."""
        if self.values is not None:
            return len(self.values)
        assert self.low is not None and self.high is not None
        if self.step is None:
            return 1 if self.low == self.high else None
        return math.floor((self.high - self.low) / self.step + 1e-9) + 1

    def check(self, where: str, key: str) -> Choice:
        """This choice, if its grid holds at most `MAX_GRID` values."""
        n = self.count
        if n is not None and n > MAX_GRID:
            raise v.fail(
                where,
                f"{key}.step",
                self.step,
                f"gives {n:,} values from {self.low:g} to {self.high:g}, more than the "
                f"{MAX_GRID:,} a grid may hold; take a larger step, or leave it out for a "
                "continuous range",
            )
        return self

    @property
    def grid(self) -> tuple[float, ...] | None:
        """Every value, in order; None for a continuous range."""
        if self.values is not None:
            return self.values
        assert self.low is not None and self.high is not None
        if self.step is None:
            return (self.low,) if self.low == self.high else None
        n = min(self.count or 1, MAX_GRID) - 1
        out = tuple(round(self.low + i * self.step, 12) for i in range(n + 1))
        return tuple(int(x) for x in out) if self.integer else out

    @property
    def discrete(self) -> bool:
        return self.grid is not None

    def describe(self) -> str:
        grid = self.grid
        if grid is not None:
            return ", ".join(f"{x:g}" for x in grid)
        return f"{self.low:g} .. {self.high:g}"


def _choice(
    where: str, key: str, raw: Any, lo: float, hi: float, *, integer: bool, hi_open: bool = False
) -> Choice:
    """A `Choice` from a file's value: a number, a list of numbers or a {low, high[, step]}
    table, each value checked to be in [lo, hi] (or [lo, hi))."""

    def one(x: Any, name: str) -> float:
        if integer:
            return float(v.integer(where, name, x, int(lo), int(hi)))
        return v.in_range(where, name, x, lo, hi, hi_open=hi_open)

    if isinstance(raw, Mapping):
        check_keys(f"{where}: {key}", raw, ("low", "high", "step"), ("low", "high"))
        low, high = one(raw["low"], f"{key}.low"), one(raw["high"], f"{key}.high")
        if high < low:
            raise v.fail(where, f"{key}.high", raw["high"], f"must be >= low = {low:g}")
        step = None
        if "step" in raw:
            step = v.in_range(where, f"{key}.step", raw["step"], 0, hi - lo or 1, lo_open=True)
            if integer and step != int(step):
                raise v.fail(where, f"{key}.step", raw["step"], "must be a whole number")
        if integer and step is None:
            step = 1.0
        return Choice(low=low, high=high, step=step, integer=integer).check(where, key)
    items = raw if isinstance(raw, list | tuple) else [raw]
    if not items:
        raise v.fail(where, key, raw, "must list at least one value")
    values = tuple(one(x, f"{key}[{i}]") for i, x in enumerate(items))
    if len(set(values)) != len(values):
        raise v.fail(where, key, list(items), "must not list a value twice")
    values = tuple(sorted(values))
    return Choice(values=tuple(int(x) for x in values) if integer else values, integer=integer)


@dataclass(frozen=True)
class Plan:
    """One campaign of a space: ``lineup`` the booked influencers in session order, each
    session's ``discounts`` (fraction; None: each product's own) and ``assortments``
    (products in the stream; None: the influencer's own), and ``gap_days`` between
    consecutive sessions."""

    lineup: tuple[str, ...]
    discounts: tuple[float | None, ...]
    assortments: tuple[int | None, ...]
    gap_days: float

    @property
    def key(self) -> str:
        """A text that identifies the plan (its decisions), e.g.
        ``star>amy | d=0.2,0.2 | a=50,50 | gap=3``."""

        def fmt(xs: Sequence[float | None]) -> str:
            return ",".join("-" if x is None else f"{x:g}" for x in xs)

        return (
            f"{'>'.join(self.lineup)} | d={fmt(self.discounts)} | a={fmt(self.assortments)} "
            f"| gap={self.gap_days:g}"
        )

    def describe(self) -> str:
        """The plan in words: ``star, then amy, bo; 20 % off; 50 products a stream; 3 days
        apart``."""
        who = self.lineup[0] + (", then " + ", ".join(self.lineup[1:]) if self.lineup[1:] else "")
        parts = [who]
        if any(d is not None for d in self.discounts):
            ds = set(self.discounts)
            parts.append(
                f"{_pct(self.discounts[0])} off"
                if len(ds) == 1
                else "discounts " + ", ".join(_pct(d) for d in self.discounts)
            )
        if any(a is not None for a in self.assortments):
            a_set = set(self.assortments)
            parts.append(
                f"{self.assortments[0]} products a stream"
                if len(a_set) == 1
                else "products a stream " + ", ".join(str(a) for a in self.assortments)
            )
        if len(self.lineup) > 1:
            parts.append(f"{self.gap_days:g} days apart")
        return "; ".join(parts)


def _pct(d: float | None) -> str:
    return "own" if d is None else f"{d * 100:g} %"


@dataclass(frozen=True)
class PlanSpace:
    """The campaigns a search may choose from (the module docstring has the file format).

    ``pool``: candidate influencers (distinct names); ``hours``: each one's session length
    when booked, hours (default `DEFAULT_SESSION_HOURS`); ``products``: the brand's products,
    presented in every session; ``min_booked`` .. ``max_booked``: how many of the pool to
    book, one session each; ``order``: "any" (every order) or "pool" (the pool's order);
    ``gap_days``: days between consecutive sessions; ``discount``: each session's discount of
    every product (None: the products' own); ``assortment``: products in the stream (None: the
    influencer's own); ``*_per_session``: each session chooses its own; ``budget``: most total
    fixed fees, CNY; ``max_p_loss``: most P(profit < 0); ``max_sessions``: most sessions."""

    pool: tuple[Influencer, ...]
    products: tuple[Product, ...]
    name: str = "plan_space"
    hours: Mapping[str, float] = field(default_factory=dict)
    market: MarketParams = field(default_factory=MarketParams)
    min_booked: int = 1
    max_booked: int = 1
    order: str = "any"
    gap_days: Choice = field(default_factory=lambda: Choice(values=(3.0,)))
    discount: Choice | None = None
    discount_per_session: bool = False
    assortment: Choice | None = None
    assortment_per_session: bool = False
    budget: float | None = None
    max_p_loss: float | None = None
    max_sessions: int | None = None
    search: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        o = f"plan space {self.name!r}"
        set_(self, "name", v.text("plan space", "name", self.name))
        pool = tuple(self.pool) if isinstance(self.pool, Sequence) else None
        if not pool:
            raise v.fail(o, "pool", self.pool, "needs at least one candidate influencer")
        if len(pool) > MAX_POOL:
            raise v.fail(o, "pool", len(pool), f"at most {MAX_POOL} candidate influencers")
        for inf in pool:
            if not isinstance(inf, Influencer):
                raise v.fail(o, "pool", inf, "must contain Influencer objects")
        names = [inf.name for inf in pool]
        if len(set(names)) != len(names):
            raise v.fail(o, "pool", names, "candidate influencers must have distinct names")
        set_(self, "pool", pool)
        products = tuple(self.products) if isinstance(self.products, Sequence) else None
        if not products or not all(isinstance(p, Product) for p in products):
            raise v.fail(o, "products", self.products, "must be a non-empty list of Product")
        set_(self, "products", products)
        if not isinstance(self.market, MarketParams):
            raise v.fail(o, "market", self.market, "must be MarketParams")
        hours = dict(self.hours)
        for key, h in hours.items():
            if key not in names:
                raise v.fail(o, "hours", key, f"names no candidate influencer ({', '.join(names)})")
            hours[key] = v.in_range(o, f"hours[{key!r}]", h, MIN_SESSION_HOURS, 48)
        set_(self, "hours", hours)
        lo = v.integer(o, "min_booked", self.min_booked, 1, len(pool))
        hi = v.integer(o, "max_booked", self.max_booked, 1, len(pool))
        if hi < lo:
            raise v.fail(o, "max_booked", hi, f"must be >= min_booked = {lo}")
        set_(self, "min_booked", lo)
        set_(self, "max_booked", hi)
        if self.order not in ORDERS:
            raise v.fail(o, "order", self.order, f"must be one of {', '.join(ORDERS)}")
        for key in ("gap_days", "discount", "assortment"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, Choice):
                set_(self, key, _as_choice(o, key, value))
            elif value is not None:
                value.check(o, key)
        if self.gap_days is None:
            raise v.fail(o, "gap_days", None, "needs at least one value")
        if self.budget is not None:
            set_(self, "budget", v.non_negative(o, "budget", self.budget, 1e12))
        if self.max_p_loss is not None:
            set_(self, "max_p_loss", v.in_range(o, "max_p_loss", self.max_p_loss, 0, 1))
        if self.max_sessions is not None:
            set_(self, "max_sessions", v.integer(o, "max_sessions", self.max_sessions, 1, 10_000))
            if self.max_sessions < lo:
                raise v.fail(
                    "constraints",
                    "max_sessions",
                    self.max_sessions,
                    f"no plan can meet it: every plan books at least min_booked = {lo}",
                )
        if self.assortment is not None and self.assortment.grid is not None:
            low = min(self.assortment.grid)
            if low < len(products):
                raise v.fail(o, "assortment", low, f"must be >= the {len(products)} brand products")
        if self.budget is not None:
            cheapest = sorted(self.fees((i.name,)) for i in pool)[:lo]
            if sum(cheapest) > self.budget:
                who = "the cheapest candidate costs" if lo == 1 else f"the {lo} cheapest cost"
                raise v.fail(
                    "constraints",
                    "budget",
                    self.budget,
                    f"no plan can meet it: {who} CNY {sum(cheapest):,.0f} in fees",
                )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(inf.name for inf in self.pool)

    @property
    def most_booked(self) -> int:
        """The most sessions a plan may have (``max_booked``, capped by ``max_sessions``)."""
        return min(self.max_booked, self.max_sessions or self.max_booked)

    def influencer(self, name: str) -> Influencer:
        return self.pool[self.names.index(name)]

    def fees(self, lineup: Sequence[str]) -> float:
        """Total fixed fees of booking ``lineup``, CNY: slot fees and free experiences."""
        total = 0.0
        for name in lineup:
            inf = self.influencer(name)
            total += inf.slot_fee + inf.experience_cost
        return total

    def affordable(self, lineup: Sequence[str]) -> bool:
        return self.budget is None or self.fees(lineup) <= self.budget * (1 + 1e-12)

    def lineups(self) -> Iterator[tuple[str, ...]]:
        """Every lineup the decisions allow and the budget affords, shortest first."""
        for k in range(self.min_booked, self.most_booked + 1):
            picks = (
                itertools.permutations(self.names, k)
                if self.order == "any"
                else itertools.combinations(self.names, k)
            )
            for lineup in picks:
                if self.affordable(lineup):
                    yield lineup

    @property
    def discrete(self) -> bool:
        """Whether every decision has a finite list of values (the space can be listed)."""
        return all(c is None or c.discrete for c in (self.gap_days, self.discount, self.assortment))

    def _grid(self, choice: Choice | None) -> tuple[Any, ...]:
        if choice is None:
            return (None,)
        grid = choice.grid
        assert grid is not None
        return grid

    def plans_of(self, lineup: tuple[str, ...]) -> Iterator[Plan]:
        """Every plan with this lineup (a discrete space only)."""
        k = len(lineup)
        ds = self._grid(self.discount)
        as_ = self._grid(self.assortment)
        gaps = self._grid(self.gap_days) if k > 1 else self._grid(self.gap_days)[:1]
        d_opts = (
            itertools.product(ds, repeat=k) if self.discount_per_session else ((d,) * k for d in ds)
        )
        for d in list(d_opts):
            a_opts = (
                itertools.product(as_, repeat=k)
                if self.assortment_per_session
                else ((a,) * k for a in as_)
            )
            for a in a_opts:
                for g in gaps:
                    yield Plan(lineup, tuple(d), tuple(a), float(g))

    def plans(self) -> Iterator[Plan]:
        """Every plan of a discrete space that the budget and session limits allow."""
        if not self.discrete:
            raise v.fail(
                f"plan space {self.name!r}",
                "decisions",
                "a continuous range",
                "cannot be listed; give a step or a list",
            )
        if self.lineup_count() > MAX_LISTED:
            raise v.fail(
                f"plan space {self.name!r}",
                "max_booked",
                self.max_booked,
                f"gives {self.lineup_count():,} lineups, too many to list (at most "
                f"{MAX_LISTED:,}); search it with Optuna",
            )
        for lineup in self.lineups():
            yield from self.plans_of(lineup)

    def lineup_count(self) -> int:
        """How many lineups the decisions allow, before the budget."""
        n = len(self.pool)
        pick = math.perm if self.order == "any" else math.comb
        return sum(pick(n, k) for k in range(self.min_booked, self.most_booked + 1))

    def size(self) -> int | None:
        """How many plans the space holds; None if a decision is continuous or the lineups
        are too many to list (more than `MAX_LISTED`): such a space is only searched."""
        if not self.discrete or self.lineup_count() > MAX_LISTED:
            return None
        per = {}
        for k in range(self.min_booked, self.most_booked + 1):
            nd = len(self._grid(self.discount))
            na = len(self._grid(self.assortment))
            ng = len(self._grid(self.gap_days)) if k > 1 else 1
            per[k] = (
                (nd**k if self.discount_per_session else nd)
                * (na**k if self.assortment_per_session else na)
                * ng
            )
        return sum(per[len(lineup)] for lineup in self.lineups())

    def strategy(self, plan: Plan, name: str | None = None) -> Strategy:
        """The campaign ``plan`` describes (sessions ``gap_days`` apart from day 0)."""
        sessions = []
        for j, who in enumerate(plan.lineup):
            d, a = plan.discounts[j], plan.assortments[j]
            sessions.append(
                Session(
                    self.influencer(who),
                    self.products,
                    day=j * plan.gap_days,
                    hours=self.hours.get(who, DEFAULT_SESSION_HOURS),
                    assortment=None if a is None else int(a),
                    discounts={} if d is None else {p.name: float(d) for p in self.products},
                )
            )
        return Strategy(tuple(sessions), self.market, name or self.name)


def _as_choice(where: str, key: str, value: Any) -> Choice:
    if key == "assortment":
        return _choice(where, key, value, 1, 10_000, integer=True)
    if key == "discount":
        return _choice(where, key, value, 0, 1, integer=False, hi_open=True)
    return _choice(where, key, value, 0, 3650, integer=False)


def space_from_dict(
    data: Mapping[str, Any], source: str = "plan space", root: Path | None = None
) -> PlanSpace:
    """A `PlanSpace` from the file structure (module docstring); errors name ``source`` and
    the table and key."""
    check_keys(source, data, _TOP, ("products", "influencers"))
    market = market_from_dict(source, data.get("market", {}))
    products = products_from_list(source, data.get("products", []))
    raw_pool = data.get("influencers", [])
    pool = influencers_from_list(source, raw_pool, root, extra=("hours",))
    hours = {
        str(t["name"]): t["hours"] for t in raw_pool if isinstance(t, Mapping) and "hours" in t
    }
    decisions = dict(check_keys(f"{source}: [decisions]", data.get("decisions", {}), _DECISIONS))
    constraints = dict(
        check_keys(f"{source}: [constraints]", data.get("constraints", {}), _CONSTRAINTS)
    )
    search = dict(check_keys(f"{source}: [search]", data.get("search", {}), _SEARCH))
    where = f"{source}: [decisions]"
    try:
        for key in ("gap_days", "discount", "assortment"):
            if key in decisions:
                decisions[key] = _as_choice(where, key, decisions[key])
        for key in ("discount_per_session", "assortment_per_session"):
            if key in decisions and not isinstance(decisions[key], bool):
                raise v.fail(where, key, decisions[key], "must be true or false")
        return PlanSpace(
            pool=tuple(pool.values()),
            products=tuple(products.values()),
            name=str(data.get("name", "plan_space")),
            hours=hours,
            market=market,
            search=search,
            **decisions,
            **constraints,
        )
    except StrategyFileError:
        raise
    except (ValueError, TypeError, ArithmeticError) as err:
        text = str(err)
        raise StrategyFileError(text if text.startswith(source) else f"{source}: {text}") from None


def load_space(path: str | Path) -> PlanSpace:
    """Read a plan space file (TOML, format in this module's docstring); its name defaults to
    the file's stem."""
    p = Path(path)
    data = read_toml(p, "plan space file")
    if "sessions" in data:
        raise StrategyFileError(
            f"{p}: is a strategy file (it lists sessions), not a plan space; run it with: "
            f"forecast run {p}"
        )
    data.setdefault("name", p.stem)
    return space_from_dict(data, str(p), p.parent)


__all__ = ["Choice", "Plan", "PlanSpace", "load_space", "space_from_dict"]
