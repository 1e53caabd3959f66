"""Strategy files: a documented TOML format, read with `tomllib`, and the same structure as a
plain dict (which is also what the Parquet metadata stores).

Format (every key but the required ones is optional)::

    name = "mega then micro"              # strategy name
    description = "free text"             # ignored by the model
    start = 2026-12-07                    # calendar date of day 0 (a TOML date); optional

    [market]                              # any field of forecast.MarketParams
    trust_penalty = 0.35
    [market.discount_sensitivity]         # tier tables need mega, mid and micro
    mega = 2.5
    mid = 1.5
    micro = 0.8

    [[products]]                          # required: name, list_price
    name = "serum"
    list_price = 199.0                    # CNY
    unit_cost = 40.0                      # CNY
    category = "beauty"
    discount = 0.2                        # default discount, fraction
    return_rate = 0.3                     # default: the category's
    units_per_order = 1.2

    [[influencers]]                       # required: name, tier (mega, mid, micro)
    name = "star"
    tier = "mega"                         # starts from the tier's preset ...
    slot_fee = 100000                     # ... any forecast.Influencer field overrides it
    edition = "2026-12"                   # edition of the tier's defaults (2026-11: before
                                          # the time layer and the sampled micro tier)

    [[sessions]]                          # in time order; required: influencer, products
    influencer = "star"
    products = ["serum"]                  # presentation order
    day = 0                               # start day, days from the campaign's start
    date = 2026-12-07                     # or its calendar date (then day comes from it)
    hours = 5.4
    assortment = 63                       # products in the whole stream
    categories = 6
    positions = [31]                      # 0-based slots of the brand's products
    discounts = { serum = 0.3 }           # per-session discount overrides
    fit = 1.0
    label = "star#0"                      # identity for common random numbers
    format = "live"                       # or "video": views over `days`, decaying
    days = 30                             # video only: days its views are counted
    episode = 1                           # k-th episode cut from one store visit

Group buying (amateur anchors, vouchers)::

    [[products]]
    name = "hotpot_for_two"
    kind = "voucher"                      # revenue only when verified in the store
    list_price = 298.0
    discount = 0.4
    unit_cost = 90.0                      # cost of serving one verified voucher
    verify_prob = 0.85                    # buyers who mean to use it
    validity_days = 30                    # must be verified within this window ...
    verify_delay_days = 7                 # ... after an exponential delay with this mean

    [[influencers]]
    name = "xiaomei"
    tier = "amateur"
    video_level = 2                       # platform levels Lv0-Lv8, both required
    live_level = 0
    channel = "invitation"                # library, invitation, mcn or direct

A host fitted to its past sessions (``forecast calibrate SESSIONS --out DIR``)::

    [[influencers]]
    name = "li"
    calibration = "DIR/calibration.parquet"   # relative to this file
    host = "Li Jiaqi"                         # a fitted host; or tier = "mid" and no host:
                                              # a new host drawn from the fitted mid tier
    slot_fee = 300000                         # any Influencer field still overrides
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forecast.model import validation as v
from forecast.model.entities import Influencer, MarketParams, Product, Session, Strategy, TierValues
from forecast.model.enums import Tier

_TOP = ("name", "description", "start", "market", "products", "influencers", "sessions")
_PRODUCT = tuple(f.name for f in dataclasses.fields(Product))
_INFLUENCER = tuple(f.name for f in dataclasses.fields(Influencer))
_FITTED = ("calibration", "host")
_SESSION = (
    "influencer",
    "products",
    "day",
    "date",
    "hours",
    "assortment",
    "categories",
    "positions",
    "discounts",
    "fit",
    "label",
    "format",
    "days",
    "episode",
)
_MARKET = tuple(f.name for f in dataclasses.fields(MarketParams))


class StrategyFileError(ValueError):
    """A strategy file or dict that cannot be read; the message names file, table and key."""


def check_keys(
    where: str, table: Any, allowed: tuple[str, ...], required: tuple[str, ...] = ()
) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise StrategyFileError(f"{where}: expected a table, got {v.echo(table)}")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise StrategyFileError(
                f"{where}: unknown key {v.echo(key)}; {hint}allowed: {', '.join(allowed)}"
            )
    for key in required:
        if key not in table:
            raise StrategyFileError(f"{where}: missing required key {key!r}")
    return table


def _list_of_tables(where: str, value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise StrategyFileError(
            f"{where}: expected an array of tables ([[...]]), got {v.echo(value)}"
        )
    return value


#: What a bad value can raise while the model checks it: a ValueError from the checks, and,
#: as a net under them, the errors of arithmetic or types on a value no check foresaw.
_BAD_VALUE = (ValueError, TypeError, ArithmeticError, RecursionError)


def _name(where: str, table: Mapping[str, Any], key: str) -> str:
    """``table[key]``, checked to be a name (a non-empty string)."""
    try:
        return v.text(where, key, table[key])
    except ValueError as err:
        raise StrategyFileError(str(err)) from None


def _fitted(where: str, table: dict[str, Any], root: Path | None) -> Influencer:
    """The influencer of a ``calibration = ...`` table (`forecast.model.fitted`)."""
    from forecast.model.fitted import fitted_influencer, read_calibration_metadata

    name = _name(where, table, "name")
    given = table.pop("calibration")
    if not isinstance(given, str) or not given:
        raise StrategyFileError(f"{where}: calibration = {v.echo(given)} is not allowed; a path")
    path = Path(given)
    if not path.is_absolute() and root is not None:
        path = root / path
    host = table.pop("host", None)
    tier = table.pop("tier", None)
    del table["name"]
    if host is not None and tier is not None:
        raise StrategyFileError(
            f"{where}: give host (a fitted host) or tier (a new host of that tier), not both"
        )
    if host is not None and not isinstance(host, str):
        raise StrategyFileError(f"{where}: host = {v.echo(host)} is not allowed; a host's name")
    try:
        meta = read_calibration_metadata(path)
        return fitted_influencer(meta, host=host, tier=tier, name=name, source=where, **table)
    except FileNotFoundError:
        raise StrategyFileError(f"{where}: calibration file {str(path)!r} does not exist") from None
    except KeyError as err:
        raise StrategyFileError(str(err.args[0])) from None
    except _BAD_VALUE as err:
        raise StrategyFileError(f"{where}: {err}" if where not in str(err) else str(err)) from None


def market_from_dict(source: str, table: Any) -> MarketParams:
    """The ``[market]`` table of a file (any `MarketParams` field); errors name ``source``."""
    try:
        return MarketParams(**check_keys(f"{source}: [market]", table, _MARKET))
    except StrategyFileError:
        raise
    except _BAD_VALUE as err:
        raise StrategyFileError(f"{source}: {err}") from None


def products_from_list(source: str, tables: Any) -> dict[str, Product]:
    """The ``[[products]]`` of a file, by name; errors name ``source`` and the table."""
    products: dict[str, Product] = {}
    for i, raw in enumerate(_list_of_tables(f"{source}: products", tables)):
        where = f"{source}: [[products]] #{i + 1}"
        table = check_keys(where, raw, _PRODUCT, ("name", "list_price"))
        _name(where, table, "name")
        try:
            p = Product(**table)
        except _BAD_VALUE as err:
            raise StrategyFileError(f"{where}: {err}") from None
        if p.name in products:
            raise StrategyFileError(f"{where}: product name {p.name!r} is defined twice")
        products[p.name] = p
    return products


def influencers_from_list(
    source: str, tables: Any, root: Path | None, extra: tuple[str, ...] = ()
) -> dict[str, Influencer]:
    """The ``[[influencers]]`` of a file, by name (presets with overrides, or fitted hosts);
    errors name ``source`` and the table. Keys in ``extra`` are allowed and left out (the
    caller reads them from the tables itself)."""
    influencers: dict[str, Influencer] = {}
    for i, raw in enumerate(_list_of_tables(f"{source}: influencers", tables)):
        where = f"{source}: [[influencers]] #{i + 1}"
        if isinstance(raw, Mapping) and "calibration" in raw:
            table = dict(check_keys(where, raw, _INFLUENCER + _FITTED + extra, ("name",)))
            for key in extra:
                table.pop(key, None)
            inf = _fitted(where, table, root)
            if inf.name in influencers:
                raise StrategyFileError(f"{where}: influencer name {inf.name!r} is defined twice")
            influencers[inf.name] = inf
            continue
        if isinstance(raw, Mapping) and "host" in raw:
            raise StrategyFileError(f'{where}: host = ... needs calibration = "FILE" beside it')
        table = dict(check_keys(where, raw, _INFLUENCER + extra, ("name", "tier")))
        for key in extra:
            table.pop(key, None)
        name, tier = _name(where, table, "name"), table.pop("tier")
        del table["name"]
        try:
            inf = Influencer.preset(Tier.parse(tier, f"influencer {name!r}"), name, **table)
        except _BAD_VALUE as err:
            raise StrategyFileError(f"{where}: {err}") from None
        if inf.name in influencers:
            raise StrategyFileError(f"{where}: influencer name {inf.name!r} is defined twice")
        influencers[inf.name] = inf
    return influencers


def strategy_from_dict(
    data: Mapping[str, Any], source: str = "strategy", root: Path | None = None
) -> Strategy:
    """Build and validate a Strategy from the file structure; errors name ``source``;
    ``root``: the folder relative calibration paths are read from (a file's own)."""
    check_keys(source, data, _TOP, ("sessions",))
    market = market_from_dict(source, data.get("market", {}))
    products = products_from_list(source, data.get("products", []))
    influencers = influencers_from_list(source, data.get("influencers", []), root)

    sessions: list[Session] = []
    for i, raw in enumerate(_list_of_tables(f"{source}: sessions", data["sessions"])):
        where = f"{source}: [[sessions]] #{i + 1}"
        table = dict(check_keys(where, raw, _SESSION, ("influencer", "products")))
        who = _name(where, table, "influencer")
        del table["influencer"]
        if who not in influencers:
            known = ", ".join(influencers) or "none defined"
            raise StrategyFileError(
                f"{where}: influencer = {who!r} is not defined in [[influencers]] ({known})"
            )
        names = table.pop("products")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise StrategyFileError(
                f"{where}: products = {v.echo(names)} is not allowed; a non-empty list of "
                "product names"
            )
        for n in names:
            if n not in products:
                known = ", ".join(products) or "none defined"
                raise StrategyFileError(
                    f"{where}: product {n!r} is not defined in [[products]] ({known})"
                )
        if "positions" in table and isinstance(table["positions"], list):
            table["positions"] = tuple(table["positions"])
        try:
            sessions.append(Session(influencers[who], tuple(products[n] for n in names), **table))
        except _BAD_VALUE as err:
            raise StrategyFileError(f"{where}: {err}") from None
    try:
        return Strategy(
            tuple(sessions), market, data.get("name", "strategy"), start=data.get("start")
        )
    except _BAD_VALUE as err:
        raise StrategyFileError(f"{source}: {err}") from None


def load(path: str | Path) -> Strategy:
    """Read a strategy file (TOML, format in this module's docstring). The strategy's name
    defaults to the file's stem."""
    p = Path(path)
    data = read_toml(p, "strategy file")
    if "campaigns" in data and "sessions" not in data:
        raise StrategyFileError(
            f"{p}: is a portfolio file (it lists campaigns), not a strategy; "
            f"report it with: forecast report {p} --out DIR"
        )
    data.setdefault("name", p.stem)
    return strategy_from_dict(data, str(p), p.parent)


#: Largest TOML file read, bytes (a strategy of the most sessions is far smaller).
MAX_FILE_BYTES = 64 * 2**20


def read_toml(p: Path, what: str) -> dict[str, Any]:
    """The TOML file at ``p`` as a dict; every way it cannot be read (missing, a directory,
    unreadable, too large, not UTF-8, not TOML, nested beyond reason) is one
    `StrategyFileError` (a ValueError) naming the file; ``what`` names the kind of file."""
    if p.is_dir():
        raise StrategyFileError(f"{what} {str(p)!r} is a directory, not a file")
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(p)!r} does not exist") from None
    except OSError as err:
        raise StrategyFileError(f"{what} {str(p)!r} cannot be read: {err.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise StrategyFileError(f"{what} {str(p)!r} is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise StrategyFileError(
            f"{what} {str(p)!r} is not a UTF-8 text file (byte {err.start}); a TOML file is"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise StrategyFileError(f"{p}: not valid TOML: {err}") from None
    except RecursionError:
        raise StrategyFileError(f"{p}: not valid TOML: arrays or tables nested too deep") from None


def _plain(x: Any) -> Any:
    if isinstance(x, Tier):
        return x.value
    if isinstance(x, TierValues):
        return dataclasses.asdict(x)
    return x


def strategy_to_dict(strategy: Strategy) -> dict[str, Any]:
    """The file structure of ``strategy`` (round-trips through `strategy_from_dict`)."""
    market = {
        f.name: _plain(getattr(strategy.market, f.name)) for f in dataclasses.fields(MarketParams)
    }
    products = [
        {f.name: getattr(p, f.name) for f in dataclasses.fields(Product)} for p in strategy.products
    ]
    influencers = [
        {f.name: _plain(getattr(i, f.name)) for f in dataclasses.fields(Influencer)}
        for i in strategy.influencers
    ]
    sessions = [
        {
            "influencer": s.influencer.name,
            "products": [p.name for p in s.products],
            "day": s.day,
            "date": s.date,
            "hours": s.hours,
            "assortment": s.assortment,
            "categories": s.categories,
            "positions": list(s.positions or ()),
            "discounts": dict(s.discounts),
            "fit": s.fit,
            "label": s.label,
            "format": s.format.value,
            "days": s.days,
            "episode": s.episode,
        }
        for s in strategy.sessions
    ]
    return {
        "name": strategy.name,
        "start": strategy.start,
        "market": market,
        "products": products,
        "influencers": influencers,
        "sessions": sessions,
    }


def _toml_value(x: Any) -> Any:
    """A value as TOML writes it: enums as their text, tier tables as tables."""
    if isinstance(x, TierValues):
        return {k: val for k, val in dataclasses.asdict(x).items() if val is not None}
    if isinstance(x, str):
        return str(x)  # an enum's text
    if isinstance(x, tuple):
        return list(x)
    return x


def strategy_toml(strategy: Strategy, header: str = "") -> str:
    """``strategy`` as a strategy file (TOML) that `load` reads back to an equal strategy.

    Readable rather than exhaustive: an influencer is its tier and the fields that differ
    from that tier's preset, the market only the fields that differ from the defaults.
    ``header``: comment lines put first (each line gets ``# ``)."""
    import tomli_w

    default_market = MarketParams()
    market = {
        f.name: _toml_value(getattr(strategy.market, f.name))
        for f in dataclasses.fields(MarketParams)
        if getattr(strategy.market, f.name) != getattr(default_market, f.name)
    }
    products = [
        {
            f.name: _toml_value(getattr(p, f.name))
            for f in dataclasses.fields(Product)
            if getattr(p, f.name) is not None
        }
        for p in strategy.products
    ]
    influencers = []
    for inf in strategy.influencers:
        keys = ("video_level", "live_level") + (("channel",) if inf.tier is Tier.AMATEUR else ())
        given = {k: getattr(inf, k) for k in keys if getattr(inf, k) is not None}
        given["edition"] = inf.edition
        preset = Influencer.preset(inf.tier, inf.name, **given)
        table: dict[str, Any] = {"name": inf.name, "tier": str(inf.tier)}
        for f in dataclasses.fields(Influencer):
            value = getattr(inf, f.name)
            if f.name in ("name", "tier") or value is None:
                continue
            if f.name in given or value != getattr(preset, f.name):
                table[f.name] = _toml_value(value)
        influencers.append(table)
    # the complete session rows, without the keys that only restate a default
    defaults = {"discounts": {}, "fit": 1.0, "format": "live", "episode": 1, "date": None}
    sessions = []
    for row in strategy_to_dict(strategy)["sessions"]:
        kept = {k: x for k, x in row.items() if k not in defaults or x != defaults[k]}
        if "format" not in kept:
            kept.pop("days")  # a live session's days mean nothing
        sessions.append(kept)
    data: dict[str, Any] = {"name": strategy.name}
    if strategy.start is not None:
        data["start"] = strategy.start
    if market:
        data["market"] = market
    data.update(products=products, influencers=influencers, sessions=sessions)
    lines = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    return lines + tomli_w.dumps(data)
