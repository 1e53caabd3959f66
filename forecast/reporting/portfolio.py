"""Portfolio files: the campaigns of a batch risk report, and how to run and report them.

Format (TOML, read with `tomllib`; file names are relative to the portfolio file)::

    name = "nightly"                      # default: the file's stem
    description = "free text"             # shown at the top of the report
    campaigns = [                         # required: strategy files and globs, in report order
        "mega_only.toml",                 # a strategy file (forecast.model.strategy_file format)
        "plans/**/*.toml",                # a glob: every match, sorted by name; never matches
    ]                                     # the portfolio file itself
    seed = 20241123                       # required: one seed for every campaign, so that
                                          # campaigns sharing a session are paired
    paths = 10000                         # Monte Carlo paths per campaign
    risk_levels = [0.95, 0.99]            # VaR and CVaR of profit at each level, in (0, 1)
    currency = "CNY"                      # ISO 4217 code of every money figure in the report
    fx_per_cny = 1.0                      # units of `currency` per CNY; required unless CNY
    method = "auto"                       # kernel: auto, cohort or viewer (as forecast.run)
    rank_by = "mean_profit"               # mean_profit, mean_net_sales, p_loss, or cvar<L>
                                          # for a listed level (cvar95 for 0.95)

    [tornado]                             # optional: a tornado chart per campaign
    output = "cvar95"                     # what it shows (default: CVaR at the first level)
    paths = 2000                          # paths of each of its runs (default 2,000)
    [tornado.inputs]                      # forecast.analysis.inputs names and laws; each
    "market.trust_penalty" = [0.0, 0.7]   # campaign takes those it has (an input no
    "star.conversion" = [0.01, 0.03]      # campaign has is an error)

A campaign is named by its strategy's ``name`` (the file's stem unless the file sets one);
two files with the same name are refused. A file matched twice (listed and globbed) counts
once. Every check runs when the file is loaded, before anything is simulated: a bad file
raises `PortfolioError`, one line naming the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecast.engine.prepare import METHODS
from forecast.engine.run import MAX_PATHS
from forecast.model import validation as v
from forecast.model.entities import Strategy
from forecast.results.result import strategy_hash
from forecast.results.risk import RISK_LEVEL, level_label

_KEYS = (
    "name",
    "description",
    "campaigns",
    "seed",
    "paths",
    "risk_levels",
    "currency",
    "fx_per_cny",
    "method",
    "rank_by",
    "tornado",
)
_REQUIRED = ("campaigns", "seed")

#: Ranking objectives besides ``cvar<L>``: (metric, summary column, larger is better).
RANKINGS: dict[str, tuple[str, str, bool]] = {
    "mean_profit": ("profit", "mean", True),
    "mean_net_sales": ("net_sales", "mean", True),
    "p_loss": ("profit", "p_loss", False),
}

DEFAULT_PATHS = 10_000

#: Highest exchange rate, units of the currency per CNY (the weakest currencies are near
#: 10,000 per USD).
MAX_FX = 1_000_000.0


class PortfolioError(ValueError):
    """A portfolio file or argument that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Campaign:
    """One strategy of a portfolio: its name in the report, the strategy and where it came
    from (None when built in Python)."""

    name: str
    strategy: Strategy
    file: Path | None = None

    @property
    def strategy_sha256(self) -> str:
        return strategy_hash(self.strategy)


@dataclass(frozen=True)
class Portfolio:
    """Campaigns to forecast and report together, with the settings they share.

    ``paths``: paths per campaign; ``seed``: the one seed of every campaign (common random
    numbers); ``risk_levels``: VaR/CVaR levels of profit, each in (0, 1); ``currency``: the
    code shown with money, each CNY amount multiplied by ``fx_per_cny``; ``method``: the
    kernel as in `forecast.run`; ``rank_by``: the ranking objective (`RANKINGS` or
    ``cvar<L>``). Build one with `load_portfolio` or `Portfolio.of`.
    """

    name: str
    campaigns: tuple[Campaign, ...]
    seed: int
    paths: int = DEFAULT_PATHS
    risk_levels: tuple[float, ...] = (RISK_LEVEL,)
    currency: str = "CNY"
    fx_per_cny: float = 1.0
    method: str = "auto"
    rank_by: str = "mean_profit"
    description: str = ""
    source: Path | None = None
    source_sha256: str | None = None
    tornado: dict[str, Any] | None = None
    """``{"inputs": {name: law}, "output": str, "paths": int}`` or None (see the module)."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def tornado_inputs(self, campaign: Campaign) -> dict[str, Any]:
        """The tornado inputs that ``campaign`` has (empty without a tornado)."""
        from forecast.analysis.inputs import applies

        if self.tornado is None:
            return {}
        return {
            k: law for k, law in self.tornado["inputs"].items() if applies(campaign.strategy, k)
        }

    @classmethod
    def of(
        cls,
        campaigns: Mapping[str, Strategy | str | Path] | Sequence[Strategy | str | Path],
        seed: int,
        *,
        name: str = "portfolio",
        **settings: Any,
    ) -> Portfolio:
        """A portfolio from Python: ``campaigns`` maps names to strategies (or strategy
        files), or lists them (named by their ``name``); ``settings`` are the file's keys
        (paths, risk_levels, currency, fx_per_cny, method, rank_by, description)."""
        from forecast.engine.prepare import resolve_strategy

        given: list[tuple[str | None, Strategy | str | Path]]
        if isinstance(campaigns, Mapping):
            given = [(str(k), s) for k, s in campaigns.items()]
        elif isinstance(campaigns, Sequence) and not isinstance(campaigns, str):
            given = [(None, s) for s in campaigns]
        else:
            raise _fail("portfolio", "campaigns", campaigns, "a list or mapping of strategies")
        built = []
        for label, raw in given:
            strategy = resolve_strategy(raw)
            file = Path(raw) if isinstance(raw, str | Path) else None
            built.append(Campaign(label or strategy.name, strategy, file))
        data = {"name": name, "seed": seed, **settings}
        return _build("portfolio", data, built, None, None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.campaigns]

    def settings(self) -> dict[str, Any]:
        """Everything besides the campaigns that determines the numbers of a report."""
        return {
            "seed": self.seed,
            "paths": self.paths,
            "risk_levels": list(self.risk_levels),
            "currency": self.currency,
            "fx_per_cny": self.fx_per_cny,
            "method": self.method,
            "rank_by": self.rank_by,
        } | ({} if self.tornado is None else {"tornado": self.tornado})

    def param_hash(self) -> str:
        """SHA-256 (hex) of the settings and of every campaign's name and strategy (all its
        parameters): two reports with the same hash and code computed the same numbers."""
        blob = {
            "settings": self.settings(),
            "campaigns": [[c.name, c.strategy_sha256] for c in self.campaigns],
        }
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """The portfolio as recorded in a report's metadata: file, its SHA-256 and content,
        name, settings, and each campaign's file and strategy hash."""
        return {
            "name": self.name,
            "description": self.description,
            "file": None if self.source is None else str(self.source),
            "file_sha256": self.source_sha256,
            "content": self.raw,
            "settings": self.settings(),
            "campaigns": [
                {
                    "name": c.name,
                    "file": None if c.file is None else str(c.file),
                    "strategy_sha256": c.strategy_sha256,
                }
                for c in self.campaigns
            ],
        }

    def ranking_key(self) -> tuple[str, str, bool]:
        """(metric, summary column, larger is better) of ``rank_by``."""
        if self.rank_by in RANKINGS:
            return RANKINGS[self.rank_by]
        return ("profit", self.rank_by, False)


def _fail(owner: str, key: str, value: Any, allowed: str) -> PortfolioError:
    return PortfolioError(str(v.fail(owner, key, value, allowed)))


def _check(owner: str, call: Any, *args: Any) -> Any:
    """Run a `forecast.model.validation` check, its error re-raised as a PortfolioError."""
    try:
        return call(*args)
    except ValueError as err:
        raise PortfolioError(str(err)) from None


def _risk_levels(owner: str, value: Any) -> tuple[float, ...]:
    if v.is_number(value):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _fail(owner, "risk_levels", value, "a non-empty list of levels in (0, 1)")
    levels = []
    for x in value:
        if not v.is_number(x) or not 0 < x < 1:
            raise _fail(owner, "risk_levels", value, "each level must be a number in (0, 1)")
        levels.append(float(x))
    labels = [level_label(x) for x in levels]
    if len(set(labels)) < len(labels):
        raise _fail(owner, "risk_levels", value, "levels must be distinct")
    return tuple(levels)


def _build(
    owner: str,
    data: Mapping[str, Any],
    campaigns: list[Campaign],
    source: Path | None,
    source_sha256: str | None,
) -> Portfolio:
    """Check every setting of ``data`` and the campaigns; errors name ``owner``."""
    seed = _check(owner, v.integer, owner, "seed", data.get("seed"), 0, 2**64 - 1)
    paths = _check(owner, v.integer, owner, "paths", data.get("paths", DEFAULT_PATHS), 1, MAX_PATHS)
    levels = _risk_levels(owner, data.get("risk_levels", [RISK_LEVEL]))
    currency = data.get("currency", "CNY")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise _fail(owner, "currency", currency, "a three-letter ISO 4217 code such as CNY or USD")
    fx_given = "fx_per_cny" in data
    fx = _check(owner, v.in_range, owner, "fx_per_cny", data.get("fx_per_cny", 1.0), 1e-6, MAX_FX)
    if currency != "CNY" and not fx_given:
        need = f"required with currency {currency!r}: the {currency} one CNY buys"
        raise _fail(owner, "fx_per_cny", None, need)
    if currency == "CNY" and fx != 1.0:
        raise _fail(owner, "fx_per_cny", fx, "must be 1 (or left out) when currency is CNY")
    method = _check(owner, v.choice, owner, "method", data.get("method", "auto"), METHODS)
    allowed = [*RANKINGS, *(f"cvar{level_label(x)}" for x in levels)]
    rank_by = _check(owner, v.choice, owner, "rank_by", data.get("rank_by", "mean_profit"), allowed)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(owner, "description", description, "a string")
    name = _check(owner, v.text, owner, "name", data.get("name", "portfolio"))
    tornado = _tornado(owner, data.get("tornado"), campaigns, levels)
    if not campaigns:
        raise _fail(owner, "campaigns", [], "at least one campaign")
    seen: dict[str, Campaign] = {}
    for c in campaigns:
        if c.name in seen:
            where = [str(x.file) if x.file else "(Python)" for x in (seen[c.name], c)]
            raise _fail(
                owner,
                "campaigns",
                c.name,
                f"campaign names must be distinct; both {where[0]} and {where[1]} are named "
                f"{c.name!r} (set `name` in one of the strategy files)",
            )
        seen[c.name] = c
    return Portfolio(
        name=name,
        campaigns=tuple(campaigns),
        seed=int(seed),
        paths=paths,
        risk_levels=levels,
        currency=currency,
        fx_per_cny=fx,
        method=method,
        rank_by=rank_by,
        description=description,
        source=source,
        source_sha256=source_sha256,
        tornado=tornado,
        raw=dict(data),
    )


def _tornado(
    owner: str, table: Any, campaigns: Sequence[Campaign], levels: tuple[float, ...]
) -> dict[str, Any] | None:
    """The ``[tornado]`` table checked against every campaign (each law resolved in each
    campaign that has its input; an input no campaign has is refused)."""
    if table is None:
        return None
    from forecast.analysis.inputs import InputError, applies, resolve_all
    from forecast.analysis.sensitivity import parse_outputs

    if not isinstance(table, Mapping):
        raise _fail(owner, "tornado", table, "a table with inputs (and output, paths)")
    for key in table:
        if key not in ("inputs", "output", "paths"):
            raise _fail(
                owner, f"tornado.{key}", table[key], "unknown key; allowed: inputs, output, paths"
            )
    inputs = table.get("inputs")
    if not isinstance(inputs, Mapping) or not inputs:
        raise _fail(owner, "tornado.inputs", inputs, "a table of input names and their laws")
    output = table.get("output", f"cvar{level_label(levels[0])}")
    try:
        parse_outputs([output])
    except ValueError as err:
        raise PortfolioError(f"{owner}: tornado: {err}") from None
    paths = _check(owner, v.integer, owner, "tornado.paths", table.get("paths", 2000), 1, MAX_PATHS)
    for name in inputs:
        if not any(applies(c.strategy, str(name)) for c in campaigns):
            raise _fail(owner, "tornado.inputs", name, "names nothing in any campaign")
    for c in campaigns:
        mine = {k: law for k, law in inputs.items() if applies(c.strategy, str(k))}
        if mine:
            try:
                resolve_all(c.strategy, mine)
            except InputError as err:
                raise PortfolioError(f"{owner}: campaign {c.name!r}: tornado.{err}") from None
    return {"inputs": dict(inputs), "output": output, "paths": paths}


def _campaign_files(owner: str, entries: Any, base: Path, itself: Path) -> list[Path]:
    """The strategy files the ``campaigns`` entries name, in order, each once."""
    if not isinstance(entries, list) or not entries:
        raise _fail(owner, "campaigns", entries, "a non-empty list of strategy files and globs")
    files: list[Path] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise _fail(owner, "campaigns", entry, "each entry is a file name or a glob")
        if glob.has_magic(entry):
            found = sorted(
                p
                for p in (
                    (base / m).resolve() for m in glob.glob(entry, root_dir=base, recursive=True)
                )
                if p.is_file() and p != itself
            )
            if not found:
                raise _fail(owner, "campaigns", entry, f"the glob matches no file in {base}")
        else:
            file = (base / entry).resolve()
            if not file.is_file():
                raise _fail(owner, "campaigns", entry, f"no such strategy file in {base}")
            found = [file]
            if file in files:
                raise _fail(
                    owner,
                    "campaigns",
                    entry,
                    f"lists the strategy file {file.name} twice; name each campaign once",
                )
        files.extend(f for f in found if f not in files)
    return files


def load_portfolio(path: str | Path) -> Portfolio:
    """Read and check a portfolio file (format in this module's docstring), every campaign's
    strategy file included; raises `PortfolioError` (or FileNotFoundError) on the first
    problem, with a one-line message."""
    from forecast.model.strategy_file import load, read_toml

    p = Path(path)
    owner = str(p)
    try:
        data = read_toml(p, "portfolio file")
    except ValueError as err:
        raise PortfolioError(str(err)) from None
    blob = p.read_bytes()
    for key in data:
        if key not in _KEYS:
            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            if key in ("sessions", "products", "influencers"):
                hint = "this looks like a strategy file (run it with `forecast run`); "
            raise PortfolioError(
                f"{owner}: unknown key {v.echo(key)}; {hint}allowed: {', '.join(_KEYS)}"
            )
    for key in _REQUIRED:
        if key not in data:
            extra = " (any whole number; it makes the report reproducible)" if key == "seed" else ""
            raise PortfolioError(f"{owner}: missing required key {key!r}{extra}")
    data.setdefault("name", p.stem)
    base = p.resolve().parent
    campaigns = []
    for file in _campaign_files(owner, data["campaigns"], base, p.resolve()):
        try:
            strategy = load(file)
        except (ValueError, OSError) as err:
            raise PortfolioError(f"{owner}: campaign {file.name}: {err}") from None
        campaigns.append(Campaign(strategy.name, strategy, file))
    return _build(owner, data, campaigns, p.resolve(), hashlib.sha256(blob).hexdigest())
