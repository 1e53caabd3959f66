"""The predictive distribution of sessions under a `forecast.analysis.calibrate.Calibration`.

For each session (a host, its hours and products presented) and each posterior draw: the
host's levels (a host not fitted: a new host of its tier), the session's effects drawn from
the simulator's laws (`forecast.model.spread`: the fitted core sd with the tier's flops and
hits, the cores of traffic, conversion and engagement correlated as the market says), then
the counts as the kernels draw them: views Poisson around the operator's median, likes
Poisson around likes per minute x watch minutes, orders Poisson around views x purchase
probability x products seen, units = orders + Poisson(0.2 orders); GMV = units x the host's
GMV per unit with its session spread. This is the distribution a forecast of that session
draws with the fitted influencer (tests/analysis/test_calibrate.py holds the two together).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import polars as pl

from forecast.analysis import posterior as post
from forecast.analysis.history import HistoryError, read_history
from forecast.analysis.observation import (
    METRICS,
    REFERENCE_PRICE,
    UNITS_PER_ORDER,
    Fit,
    TierFit,
    base_influencer,
    check_shape_work,
    law_parts,
    operator,
)
from forecast.engine.run import check_seed, run
from forecast.model import validation as v
from forecast.model.entities import MarketParams, Product, Session, Strategy
from forecast.model.enums import Tier

#: Outputs predicted, with the history column each is checked against.
OUTPUTS = ("views", "units", "likes", "avg_stay_s", "gmv")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@functools.lru_cache(maxsize=256)
def _median_table(jumps: post.Jumps, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The law's median at 65 core sds from ``lo`` to ``hi`` (log-spaced), to interpolate."""
    grid = np.geomspace(lo, hi, 65)
    return grid, np.array([jumps.law(float(s)).median() for s in grid])


def _effect(
    sigma: np.ndarray,
    jumps: post.Jumps,
    core: np.ndarray,
    rng: np.random.Generator,
    span: tuple[float, float],
) -> np.ndarray:
    """Centred session effects: sigma x core + a flop or hit - the law's median at sigma
    (interpolated over ``span``, the range of the posterior's sigma)."""
    grid, medians = _median_table(jumps, *span)
    med = np.interp(sigma, grid, medians)
    u = rng.random(sigma.shape)
    size = rng.exponential(1.0, sigma.shape)
    jump = np.where(u < jumps.flop_prob, -size * jumps.flop_mean, 0.0)
    hit = (u >= jumps.flop_prob) & (u < jumps.flop_prob + jumps.hit_prob)
    jump = np.where(hit, size * jumps.hit_mean, jump)
    return np.asarray(sigma * core + jump - med)


def _session_of(cal: Fit, row: dict[str, Any], i: int) -> tuple[TierFit, str | None, int]:
    """The tier fit, the fitted host (None: a new host of the row's tier) and the products
    presented of table row ``i``."""
    tier = Tier(row["tier"])
    host = row["influencer"] if row["influencer"] in cal.hosts else None
    if host is None and tier not in cal.tiers:
        raise ValueError(
            f"row {i + 1}: influencer {row['influencer']!r} is not fitted and the "
            f"calibration has no {tier.value} hosts to draw a new one from"
        )
    fit = cal.tiers[cal.hosts[host] if host is not None else tier]
    products = row["products"]
    if products is None:
        products = int(fit.products[fit.hosts.index(host)]) if host is not None else 0
        products = products or base_influencer(fit.tier).assortment
    return fit, host, int(products)


def simulate_sessions(
    cal: Fit, frame: pl.DataFrame, draws: int, seed: int, market: MarketParams
) -> dict[str, np.ndarray]:
    """Predictive draws [sessions, draws] of every output for the rows of ``frame``."""
    n = frame.height
    out = {k: np.zeros((n, draws)) for k in OUTPUTS}
    chol = market.cholesky()
    assert chol is not None
    for i, row in enumerate(frame.iter_rows(named=True)):
        rng = np.random.default_rng([seed, i])
        fit, host, products = _session_of(cal, row, i)
        levels = cal.level_draws(host, fit.tier)
        pick = rng.integers(0, levels["traffic"].size, draws)
        base = base_influencer(fit.tier)
        op = operator(fit.tier, float(row["hours"]), products, market)
        g = rng.standard_normal((3, draws))
        core = {
            "traffic": g[0],
            "conversion": chol[1] * g[0] + chol[2] * g[1],
            "engagement": chol[3] * g[0] + chol[4] * g[1] + chol[5] * g[2],
            "stay": rng.standard_normal(draws),
            "price": rng.standard_normal(draws),
        }
        x: dict[str, np.ndarray] = {}
        for metric in METRICS:
            jumps, _ = law_parts(base, metric)
            every = fit.metrics[metric].sigma
            span = (max(float(every.min()), 1e-3), max(float(every.max()), 1e-3) * 1.0001)
            sigma = every[pick]
            x[metric] = levels[metric][pick] + _effect(sigma, jumps, core[metric], rng, span)
        views = rng.poisson(op.views * np.exp(x["traffic"])).astype(np.float64)
        stay_s = op.stay_s(x["stay"])
        likes = rng.poisson(views * base.likes_per_minute * np.exp(x["engagement"]) * stay_s / 60)
        per_view = op.units_per_view(base, x["stay"]) / UNITS_PER_ORDER * np.exp(x["conversion"])
        # at most an order a view on average (a session's buyers are among its viewers; the
        # cap was 1,000 and let a conversion hit draw 13 units a view)
        orders = rng.poisson(views * np.minimum(per_view, MAX_ORDERS_PER_VIEW))
        units = orders + rng.poisson((UNITS_PER_ORDER - 1.0) * orders)
        out["views"][i] = views
        out["avg_stay_s"][i] = np.where(views > 0, stay_s, np.nan)
        out["likes"][i] = likes
        out["units"][i] = units
        out["gmv"][i] = units * REFERENCE_PRICE * np.exp(x["price"])
    return out


def kernel_sessions(
    cal: Fit, frame: pl.DataFrame, paths: int, seed: int, backend: Any = None
) -> dict[str, np.ndarray]:
    """Draws [sessions, paths] of every output for the rows of ``frame``, by the simulator:
    each session a `forecast.run` of its own (on ``backend``, as `forecast.run` takes it) with
    the fitted influencer (a new host of its tier if not fitted) presenting a stream of its
    products, every one counted, at the market's reference discount and priced at the host's
    fitted GMV per unit. The kernels' products have fixed prices, so GMV is then multiplied
    per path by the host's price level and session spread as the model draws them."""
    market = cal.market
    d = market.reference_discount
    out = {k: np.zeros((frame.height, paths)) for k in OUTPUTS}
    for i, row in enumerate(frame.iter_rows(named=True)):
        fit, host, products = _session_of(cal, row, i)
        name = f"session {i + 1}"
        inf = (
            cal.influencer(host, name=name)
            if host is not None
            else cal.new_influencer(fit.tier, name)
        )
        price_draws = cal.level_draws(host, fit.tier)["price"]
        price = REFERENCE_PRICE * float(np.exp(np.mean(price_draws)))
        stream = tuple(
            Product(f"p{k}", list_price=price / (1.0 - d), discount=d) for k in range(products)
        )
        session = Session(
            inf,
            stream,
            hours=float(row["hours"]),
            assortment=products,
            categories=min(base_influencer(fit.tier).categories, products),
            positions=tuple(range(products)),
        )
        r = run(Strategy((session,), market, name), paths=paths, seed=seed, backend=backend)
        views = r.paths.get_column("views").to_numpy().astype(np.float64)
        watch = r.sessions.sort("path").get_column("watch_hours").to_numpy()
        rng = np.random.default_rng([seed, i, 1])
        pick = rng.integers(0, price_draws.size, paths)
        sigma = fit.metrics["price"].sigma[pick]
        spread = price_draws[pick] - np.mean(price_draws) + sigma * rng.standard_normal(paths)
        out["views"][i] = views
        out["units"][i] = r.paths.get_column("units").to_numpy()
        out["likes"][i] = r.paths.get_column("likes").to_numpy()
        out["avg_stay_s"][i] = np.where(views > 0, watch * 3600.0 / np.maximum(views, 1.0), np.nan)
        out["gmv"][i] = r.paths.get_column("gmv").to_numpy() * np.exp(spread)
    return out


#: Most expected orders a view in the predictive's draws.
MAX_ORDERS_PER_VIEW = 1.0
#: Ways `predict` draws sessions.
METHODS = ("model", "kernel")


def predict(
    cal: Fit,
    sessions: Any,
    draws: int = 2000,
    seed: int = 0,
    method: str = "model",
    backend: Any = None,
) -> pl.DataFrame:
    """`Calibration.predict`: one row per session and output with the predictive quantiles
    (p05 .. p95), and where observed its value, mid-rank PIT and ``inside90``. ``method``:
    "model" draws from the fit's laws (`simulate_sessions`, fast); "kernel" runs every
    session through the simulator (`kernel_sessions`, ``draws`` paths each, on ``backend``;
    0.5-5 s a session for its stay integrals)."""
    v.choice("predict", "method", method, METHODS)
    n = v.integer("predict", "draws", draws, 10, 1_000_000)
    seed = check_seed(seed, "predict")[0]
    history = read_history(sessions, outcomes_required=False)
    frame = history.frame.with_row_index("session")
    _check_sessions(cal, frame, history.source)
    if method == "kernel":
        sims = kernel_sessions(cal, frame, n, seed, backend)
    else:
        sims = simulate_sessions(cal, frame, n, seed, cal.market)
    rows = []
    for k in OUTPUTS:
        sim = sims[k]
        observed = frame.get_column(k).to_numpy().astype(np.float64)
        with warnings.catch_warnings():  # an all-NaN row is refused below, not warned of
            warnings.simplefilter("ignore", RuntimeWarning)
            # np.nanquantile goes row by row; rows without a NaN (nearly all) in one call
            whole = ~np.isnan(sim).any(axis=1)
            q = np.empty((len(QUANTILES), sim.shape[0]))
            q[:, whole] = np.quantile(sim[whole], QUANTILES, axis=1)
            if not whole.all():
                q[:, ~whole] = np.nanquantile(sim[~whole], QUANTILES, axis=1)
            below = np.nanmean(sim < observed[:, None], axis=1)
            equal = np.nanmean(sim == observed[:, None], axis=1)
        pit = np.where(np.isfinite(observed), below + 0.5 * equal, np.nan)
        inside = np.where(np.isfinite(observed), (observed >= q[0]) & (observed <= q[-1]), np.nan)
        rows.append(
            pl.DataFrame(
                {
                    "session": frame.get_column("session"),
                    "influencer": frame.get_column("influencer"),
                    "tier": frame.get_column("tier"),
                    "start": frame.get_column("start"),
                    "output": k,
                    **{f"p{round(100 * p):02d}": q[j] for j, p in enumerate(QUANTILES)},
                    "observed": observed,
                    "pit": pit,
                    "inside90": inside,
                }
            ).with_columns(
                pl.col("observed").fill_nan(None),
                pl.col("pit").fill_nan(None),
                pl.col("inside90").fill_nan(None).cast(pl.Boolean),
            )
        )
    table = pl.concat(rows).sort("session", "output", maintain_order=True)
    quantiles = [f"p{round(100 * p):02d}" for p in QUANTILES]
    bad = table.filter(~pl.all_horizontal(pl.col(quantiles).is_finite()))
    if bad.height:  # never written: a predictive without numbers is an error, not a table
        row = bad.row(0, named=True)
        raise ValueError(
            f"predict: session {row['session'] + 1} ({row['influencer']!r}), output "
            f"{row['output']}: the predictive has no finite quantiles (no draw defines it); "
            "check its hours and products"
        )
    return table


def _check_sessions(cal: Fit, frame: pl.DataFrame, source: str) -> None:
    """Refuse, before any draw, a session whose tier contradicts its host's fit, and sessions
    whose shapes cost more than `forecast.analysis.observation.MAX_SHAPE_WORK`."""
    for host, tier in frame.select("influencer", "tier").unique(maintain_order=True).iter_rows():
        fitted = cal.hosts.get(host)
        if fitted is not None and fitted.value != tier:
            raise HistoryError(
                f"{source}: column tier: {tier!r} is not allowed for influencer {host!r}; the "
                f"calibration fitted it as {fitted.value!r} (give that tier, or another name "
                f"for a new {tier} host)"
            )
    products = []
    for host, tier, given in frame.select("influencer", "tier", "products").iter_rows():
        if given is not None:
            products.append(int(given))
            continue
        t = cal.tiers.get(Tier(tier))
        known = int(t.products[t.hosts.index(host)]) if t and host in t.hosts else 0
        products.append(known or base_influencer(Tier(tier)).assortment)
    try:
        check_shape_work("predict", frame.get_column("tier"), frame.get_column("hours"), products)
    except ValueError as err:
        raise HistoryError(f"{source}: {err}") from None


def coverage(table: pl.DataFrame) -> pl.DataFrame:
    """Share of observed values inside the 90 % predictive interval, per output (and the
    number of sessions behind each share), from a `predict` table."""
    return (
        table.filter(pl.col("inside90").is_not_null())
        .group_by("output", maintain_order=True)
        .agg(pl.col("inside90").mean().alias("coverage90"), pl.len().alias("sessions"))
    )


__all__ = ["METHODS", "OUTPUTS", "coverage", "kernel_sessions", "predict", "simulate_sessions"]
