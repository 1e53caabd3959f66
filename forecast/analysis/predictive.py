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

import datetime as dt
import functools
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from forecast.analysis import posterior as post
from forecast.analysis.blas import one_blas_thread
from forecast.analysis.history import HistoryError, read_history
from forecast.analysis.observation import (
    METRICS,
    REFERENCE_PRICE,
    UNITS_PER_ORDER,
    Fit,
    TierFit,
    base_influencer,
    check_shape_work,
    operator,
)
from forecast.engine.compile import EPOCH
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
    u: np.ndarray,
    size: np.ndarray,
    span: tuple[float, float],
) -> np.ndarray:
    """Centred session effects: sigma x core + a flop or hit - the law's median at sigma
    (interpolated over ``span``, the range of the posterior's sigma). ``u`` (uniform) picks
    flop, hit or neither by the law's odds; ``size`` (standard exponential) scales it."""
    grid, medians = _median_table(jumps, *span)
    med = np.interp(sigma, grid, medians)
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


#: Draws a session of the in-sample predictive `forecast calibrate` writes, and the most draws
#: in all: 2,000 a session up to 2,000 sessions, fewer beyond (at least 500: the 5 % quantile
#: then has a standard error of 1 % in probability), so 9,000 sessions cost what 2,000 do.
IN_SAMPLE_DRAWS, IN_SAMPLE_TOTAL, IN_SAMPLE_MIN = 2000, 4_000_000, 500


def in_sample_draws(sessions: int) -> int:
    """Draws a session of the in-sample predictive of ``sessions`` past sessions."""
    return max(IN_SAMPLE_MIN, min(IN_SAMPLE_DRAWS, IN_SAMPLE_TOTAL // max(sessions, 1)))


#: Sessions drawn together by `simulate_sessions` (their arrays [block, draws] held at once).
BLOCK_SESSIONS = 256


@one_blas_thread
def simulate_sessions(
    cal: Fit,
    frame: pl.DataFrame,
    draws: int,
    seed: int,
    market: MarketParams,
    shifts: Mapping[int, Mapping[str, np.ndarray]] | None = None,
) -> dict[str, np.ndarray]:
    """Predictive draws [sessions, draws] of every output for the rows of ``frame``.

    Row i draws from its own stream (seed, i), in a fixed order (posterior draws, the cores,
    each metric's jump, then the counts), so its draws do not depend on the other rows; the
    arithmetic between the draws runs on blocks of `BLOCK_SESSIONS` rows at once."""
    n = frame.height
    out = {k: np.zeros((n, draws)) for k in OUTPUTS}
    chol = market.cholesky()
    assert chol is not None
    rows = list(frame.iter_rows(named=True))
    for start in range(0, n, BLOCK_SESSIONS):
        block = range(start, min(start + BLOCK_SESSIONS, n))
        _simulate_block(cal, rows, block, draws, seed, market, chol, out, shifts or {})
    return out


def _simulate_block(
    cal: Fit,
    rows: list[dict[str, Any]],
    block: range,
    draws: int,
    seed: int,
    market: MarketParams,
    chol: tuple[float, ...],
    out: dict[str, np.ndarray],
    shifts: Mapping[int, Mapping[str, np.ndarray]],
) -> None:
    """`simulate_sessions` for the rows of ``block``, written into ``out``; a row in
    ``shifts`` takes its time layer's draws from there (drawn jointly with other rows)."""
    size = len(block)
    gens, fits, ops = [], [], []
    level = {m: np.empty((size, draws)) for m in METRICS}
    sigma = {m: np.empty((size, draws)) for m in METRICS}
    core = {m: np.empty((size, draws)) for m in METRICS}
    u = {m: np.empty((size, draws)) for m in METRICS}
    jump_size = {m: np.empty((size, draws)) for m in METRICS}
    for b, i in enumerate(block):
        rng = np.random.default_rng([seed, i])
        fit, host, products = _session_of(cal, rows[i], i)
        levels = cal.level_draws(host, fit.tier)
        pick = rng.integers(0, levels["traffic"].size, draws)
        ops.append(operator(fit.tier, float(rows[i]["hours"]), products, market))
        g = rng.standard_normal((3, draws))
        core["traffic"][b] = g[0]
        core["conversion"][b] = chol[1] * g[0] + chol[2] * g[1]
        core["engagement"][b] = chol[3] * g[0] + chol[4] * g[1] + chol[5] * g[2]
        core["stay"][b] = rng.standard_normal(draws)
        core["price"][b] = rng.standard_normal(draws)
        for metric in METRICS:
            level[metric][b] = levels[metric][pick]
            sigma[metric][b] = fit.metrics[metric].sigma[pick]
            u[metric][b] = rng.random(draws)
            jump_size[metric][b] = rng.exponential(1.0, draws)
        if fit.time:  # the fit in time: drift since the host's last session, the market
            _add_time(fit, host, rows[i], rng, chol, draws, level, b)
            if i in shifts:  # replace the row's own draws by the group's joint ones
                for metric, shift in shifts[i].items():
                    level[metric][b] = levels[metric][pick] + shift
        gens.append(rng)
        fits.append(fit)
    x: dict[str, np.ndarray] = {}
    for metric in METRICS:
        x[metric] = np.empty((size, draws))
        for tier in {f.tier for f in fits}:
            sel = np.array([f.tier == tier for f in fits])
            fit = next(f for f in fits if f.tier == tier)
            jumps = fit.jumps(metric)
            every = fit.metrics[metric].sigma
            span = (max(float(every.min()), 1e-3), max(float(every.max()), 1e-3) * 1.0001)
            x[metric][sel] = level[metric][sel] + _effect(
                sigma[metric][sel],
                jumps,
                core[metric][sel],
                u[metric][sel],
                jump_size[metric][sel],
                span,
            )
    expected_views = np.array([o.views for o in ops])[:, None] * np.exp(x["traffic"])
    views = np.stack([r.poisson(lam) for r, lam in zip(gens, expected_views, strict=True)])
    views = views.astype(np.float64)
    stay_s = np.stack([o.stay_s(xs) for o, xs in zip(ops, x["stay"], strict=True)])
    per_minute = np.array([base_influencer(f.tier).likes_per_minute for f in fits])[:, None]
    lam = views * per_minute * np.exp(x["engagement"]) * stay_s / 60
    likes = np.stack([r.poisson(v) for r, v in zip(gens, lam, strict=True)])
    per_view = np.stack(
        [
            o.units_per_view(base_influencer(f.tier), xs)
            for o, f, xs in zip(ops, fits, x["stay"], strict=True)
        ]
    )
    per_view = per_view / UNITS_PER_ORDER * np.exp(x["conversion"])
    # at most an order a view on average (a session's buyers are among its viewers; the
    # cap was 1,000 and let a conversion hit draw 13 units a view)
    lam = views * np.minimum(per_view, MAX_ORDERS_PER_VIEW)
    orders = np.stack([r.poisson(v) for r, v in zip(gens, lam, strict=True)])
    extra = np.stack(
        [r.poisson((UNITS_PER_ORDER - 1.0) * o) for r, o in zip(gens, orders, strict=True)]
    )
    units = orders + extra
    rows_ = slice(block.start, block.stop)
    out["views"][rows_] = views
    out["avg_stay_s"][rows_] = np.where(views > 0, stay_s, np.nan)
    out["likes"][rows_] = likes
    out["units"][rows_] = units
    out["gmv"][rows_] = units * REFERENCE_PRICE * np.exp(x["price"])


def _add_time(
    fit: TierFit,
    host: str | None,
    row: dict[str, Any],
    rng: np.random.Generator,
    chol: tuple[float, ...],
    draws: int,
    level: dict[str, np.ndarray],
    b: int,
) -> None:
    """Add to row ``b``'s level draws what the fit in time says moves it: a fitted host's
    drift over the days between its last session and the row's (d^2 (1 - exp(-2 g / tau)),
    the same either side of it; none for a row without a date), a new host's stationary
    drift (d^2), and the market factor of the row's week (m^2), each correlated across
    traffic, conversion and engagement as the cores; as the engine draws them."""
    g = rng.standard_normal((3, draws))
    z = {
        "traffic": g[0],
        "conversion": chol[1] * g[0] + chol[2] * g[1],
        "engagement": chol[3] * g[0] + chol[4] * g[1] + chol[5] * g[2],
        "stay": rng.standard_normal(draws),
    }
    gm = rng.standard_normal((3, draws))
    zm = {
        "traffic": gm[0],
        "conversion": chol[1] * gm[0] + chol[2] * gm[1],
        "engagement": chol[3] * gm[0] + chol[4] * gm[1] + chol[5] * gm[2],
        "stay": rng.standard_normal(draws),
    }
    share, market_share = 1.0, 1.0
    if host is not None:
        day = _row_day(row)
        last = np.nan if fit.last_day is None else fit.last_day[fit.hosts.index(host)]
        if not (math.isfinite(day) and np.isfinite(last)):
            share = market_share = 0.0
        else:
            gap = abs(day - float(last))
            share = -math.expm1(-2.0 * gap / fit.time["traffic"]["drift_days"])
            # the level at the last session holds that week's market: what moves is the
            # market since then, 1 - phi^(2 k) of its variance k weeks on
            k = abs(math.floor(day / 7.0) - math.floor(float(last) / 7.0))
            market_share = 1.0 - _phi(fit) ** (2 * k)
    for metric, t in fit.time.items():
        level[metric][b] = level[metric][b] + _mix(t, share, z[metric], zm[metric], market_share)


def _row_day(row: dict[str, Any]) -> float:
    """Days of a row's ``start`` from the market calendar's epoch (nan: no date)."""
    start = row.get("start")
    if start is None:
        return math.nan
    return float((start - dt.datetime.combine(EPOCH, dt.time())).total_seconds() / 86_400.0)


def group_shifts(
    cal: Fit, rows: list[dict[str, Any]], members: list[int], draws: int, seed: int
) -> dict[int, dict[str, np.ndarray]]:
    """The time layer's log shifts [draws] of the rows ``members`` of one host, drawn jointly:
    its drift an Ornstein-Uhlenbeck path from its last session (a fitted host; a new host's
    from its stationary law) through the rows in time order, the market one AR(1) path over
    their weeks; as the engine draws a campaign of that host (`kernels.timeline`)."""
    first = rows[members[0]]
    fit, host, _ = _session_of(cal, first, members[0])
    if not fit.time:
        return {}
    chol = cal.market.cholesky()
    assert chol is not None
    rng = np.random.default_rng([seed, 7, members[0]])
    order = sorted(members, key=lambda i: _row_day(rows[i]))
    tau = fit.time["traffic"]["drift_days"]
    phi = math.exp(-1.0 / cal.market.market_weeks)
    last = math.nan
    if host is not None and fit.last_day is not None:
        last = float(fit.last_day[fit.hosts.index(host)])

    def correlated() -> dict[str, np.ndarray]:
        g = rng.standard_normal((4, draws))
        return {
            "traffic": g[0],
            "conversion": chol[1] * g[0] + chol[2] * g[1],
            "engagement": chol[3] * g[0] + chol[4] * g[1] + chol[5] * g[2],
            "stay": g[3],
        }

    out: dict[int, dict[str, np.ndarray]] = {}
    x: dict[str, np.ndarray] | None = None
    y: dict[str, np.ndarray] | None = None
    prev_day, prev_week = last, math.nan
    for i in order:
        day = _row_day(rows[i])
        z, zm = correlated(), correlated()
        if x is None:
            if math.isfinite(prev_day) and math.isfinite(day):
                r = math.exp(-abs(day - prev_day) / tau)
                x = {m: math.sqrt(1.0 - r * r) * z[m] for m in z}
            elif host is not None:
                x = {m: 0.0 * z[m] for m in z}  # a fitted host at its last level
            else:
                x = z  # a new host: stationary
        else:
            r = math.exp(-abs(day - prev_day) / tau) if math.isfinite(day) else 1.0
            x = {m: r * x[m] + math.sqrt(1.0 - r * r) * z[m] for m in z}
        week = math.floor(day / 7.0) if math.isfinite(day) else prev_week
        if y is None and host is not None and math.isfinite(last) and math.isfinite(week):
            # a fitted host's level holds its last week's market: it moves from there
            rw = phi ** abs(week - math.floor(last / 7.0))
            y = {m: math.sqrt(1.0 - rw * rw) * zm[m] for m in zm}
        elif y is None or not math.isfinite(week) or not math.isfinite(prev_week):
            y = zm
        else:
            rw = phi ** abs(week - prev_week)
            y = {m: rw * y[m] + math.sqrt(1.0 - rw * rw) * zm[m] for m in zm}
        prev_day = day if math.isfinite(day) else prev_day
        prev_week = week
        out[i] = {m: t["drift_sd"] * x[m] + t["market_sd"] * y[m] for m, t in fit.time.items()}
    return out


@one_blas_thread
def predict_totals(
    cal: Fit,
    sessions: Any,
    by: str = "week",
    draws: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """The predictive of each host's total views, units, likes and GMV per calendar week
    (``by="week"``, Monday to Sunday; or ``"host"``: all its sessions together), its
    sessions drawn jointly: one drift path and one market path through them, so the totals
    carry what sessions of one host in one stretch share. One row per group and output:
    quantiles p05 .. p95, the observed total where every session of the group has it, and
    ``inside90``. Sessions without a ``start`` form a group of their own per host."""
    v.choice("predict_totals", "by", by, ("week", "host"))
    n = v.integer("predict_totals", "draws", draws, 10, 1_000_000)
    seed = check_seed(seed, "predict_totals")[0]
    history = read_history(sessions, outcomes_required=False)
    frame = history.frame.with_row_index("session")
    _check_sessions(cal, frame, history.source)
    rows = list(frame.iter_rows(named=True))
    groups: dict[tuple[str, int | None], list[int]] = {}
    for i, row in enumerate(rows):
        day = _row_day(row)
        week = None if by == "host" or not math.isfinite(day) else math.floor(day / 7.0)
        groups.setdefault((row["influencer"], week), []).append(i)
    shifts: dict[int, dict[str, np.ndarray]] = {}
    for members in groups.values():
        shifts.update(group_shifts(cal, rows, members, n, seed))
    sims = simulate_sessions(cal, frame, n, seed, cal.market, shifts)
    out = []
    for (host, week), members in groups.items():
        for k in ("views", "units", "likes", "gmv"):
            total = sims[k][members].sum(axis=0)
            q = np.quantile(total, QUANTILES)
            observed = frame.get_column(k).to_numpy().astype(np.float64)[members]
            obs = float(observed.sum()) if np.isfinite(observed).all() else None
            week_start = None if week is None else (EPOCH + dt.timedelta(days=7 * week)).isoformat()
            out.append(
                {
                    "influencer": host,
                    "week": week_start,
                    "sessions": len(members),
                    "output": k,
                    **{
                        f"p{round(100 * p):02d}": float(x)
                        for p, x in zip(QUANTILES, q, strict=True)
                    },
                    "observed": obs,
                    "inside90": None if obs is None else bool(q[0] <= obs <= q[-1]),
                }
            )
    return pl.DataFrame(out)


def _mix(
    t: Mapping[str, float], share: float, z: np.ndarray, zm: np.ndarray, market_share: float
) -> np.ndarray:
    """Drift and market (their variances ``share`` and ``market_share`` of the stationary
    ones), from their normals."""
    return t["drift_sd"] * math.sqrt(share) * z + t["market_sd"] * math.sqrt(market_share) * zm


def _phi(fit: TierFit) -> float:
    """Weekly lag-1 correlation of the market factor the fit used."""
    return math.exp(-1.0 / fit.time["traffic"].get("market_weeks", 4.0))


@one_blas_thread
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


@one_blas_thread
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


__all__ = [
    "METHODS",
    "OUTPUTS",
    "coverage",
    "in_sample_draws",
    "kernel_sessions",
    "predict",
    "simulate_sessions",
]
