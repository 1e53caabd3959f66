"""Past sessions drawn from the model with known parameters: for recovery and calibration
tests, benchmarks, and as a truth to fit against.

`known_calibration` is a `Calibration` whose posterior is a point at given levels, so its
`predict` machinery (`forecast.analysis.predictive`) draws sessions exactly as the fit's data
model says; `draw_truth` draws a tier's hyperparameters and host levels from the fit's prior;
`synthetic_history` turns a truth into a table of sessions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from forecast.analysis import posterior as post
from forecast.analysis.calibrate import Calibration
from forecast.analysis.observation import METRICS, TierFit, base_influencer, law_parts
from forecast.analysis.predictive import simulate_sessions
from forecast.model.entities import MarketParams
from forecast.model.enums import Tier


@dataclass(frozen=True)
class Truth:
    """One tier's true parameters: per metric mu, tau, sigma, and the host levels
    (host name -> metric -> log level)."""

    tier: Tier
    mu: Mapping[str, float]
    tau: Mapping[str, float]
    sigma: Mapping[str, float]
    hosts: Mapping[str, Mapping[str, float]]


def draw_truth(tier: Tier, hosts: int, rng: np.random.Generator, prefix: str = "") -> Truth:
    """Hyperparameters from the fit's prior (`forecast.analysis.posterior`) and ``hosts``
    host levels from them."""
    base = base_influencer(tier)
    mu, tau, sigma = {}, {}, {}
    for metric in METRICS:
        _, prior = law_parts(base, metric)
        mu[metric] = float(rng.normal(0.0, post.MU_SD))
        tau[metric] = prior.tau0 * math.exp(post.LOG_SD_TAU * float(rng.normal()))
        sigma[metric] = prior.sigma0 * math.exp(post.LOG_SD_SIGMA * float(rng.normal()))
    names = [f"{prefix}{tier.value}-{k}" for k in range(hosts)]
    levels = {h: {m: mu[m] + tau[m] * float(rng.normal()) for m in METRICS} for h in names}
    return Truth(tier, mu, tau, sigma, levels)


def known_calibration(truths: list[Truth], session_scale: bool = False) -> Calibration:
    """A `Calibration` whose posterior is the point ``truths`` (one draw); ``session_scale``:
    its session laws' jumps scaled as the time layer's (no drift or market of its own)."""
    tiers = {}
    for t in truths:
        hosts = tuple(t.hosts)
        metrics = {
            m: post.Posterior(
                mu=np.array([t.mu[m]]),
                tau=np.array([t.tau[m]]),
                sigma=np.array([t.sigma[m]]),
                a=np.array([[t.hosts[h][m] for h in hosts]]),
                new=np.array([t.mu[m]]),
            )
            for m in METRICS
        }
        zero = {m: np.zeros(len(hosts), dtype=np.int64) for m in METRICS}
        time: dict[str, dict[str, float]] = {}
        if session_scale:
            from forecast.model.drift import FITTED as DRIFT_FITTED
            from forecast.model.presets import SPREAD_CLASS

            for m in METRICS:
                if m != "price":
                    scale = DRIFT_FITTED[(SPREAD_CLASS[t.tier], m)].session_scale
                    time[m] = {
                        "drift_sd": 0.0,
                        "drift_days": 30.0,
                        "session_scale": scale,
                        "market_sd": 0.0,
                    }
        tiers[t.tier] = TierFit(t.tier, hosts, metrics, zero, np.zeros(len(hosts), np.int64), time)
    return Calibration(tiers, {"kind": "truth", "settings": {"market": asdict(MarketParams())}})


def session_plan(
    truths: list[Truth], sessions: Mapping[str, int], rng: np.random.Generator
) -> pl.DataFrame:
    """Sessions to draw: per host ``sessions[host]`` rows with hours (lognormal around 4 h,
    on a lattice of half hours), products presented (lognormal around the preset's, on a
    lattice of fives) and start times one to four days apart from 2021-06-01. The lattices
    let sessions share their operators (`forecast.analysis.observation.operator`)."""
    rows = []
    for t in truths:
        base = base_influencer(t.tier)
        for h in t.hosts:
            start = datetime(2021, 6, 1) + timedelta(hours=float(rng.uniform(0, 48)))
            for _ in range(sessions[h]):
                hours = float(np.clip(np.exp(rng.normal(math.log(4.0), 0.35)), 0.5, 16.0))
                hours = max(0.5, round(2.0 * hours) / 2.0)
                products = float(np.exp(rng.normal(math.log(base.assortment), 0.4)))
                products = int(np.clip(5 * round(products / 5), 1, 400)) or 1
                rows.append(
                    {
                        "influencer": h,
                        "tier": t.tier.value,
                        "start": start,
                        "hours": hours,
                        "products": products,
                    }
                )
                start += timedelta(days=float(rng.uniform(1, 4)))
    return pl.DataFrame(rows)


def synthetic_history(
    truths: list[Truth],
    plan: pl.DataFrame,
    seed: int,
    market: MarketParams | None = None,
    *,
    in_time: bool = False,
) -> pl.DataFrame:
    """The sessions of ``plan`` with views, units, gmv, likes and avg_stay_s drawn from the
    model at ``truths`` (one draw each). ``in_time``: the hosts' levels drift and the market
    moves as the time layer's defaults say (`forecast.model.presets.time_layer`): each
    session's level is its host's plus the host's drift at its start plus its tier's market
    factor of its week, and the session law is the time layer's (scaled)."""
    if in_time:
        return _history_in_time(truths, plan, seed, market or MarketParams())
    cal = known_calibration(truths)
    sims = simulate_sessions(cal, plan, 1, seed, market or MarketParams())
    return plan.with_columns(
        pl.Series("views", sims["views"][:, 0]),
        pl.Series("units", sims["units"][:, 0]),
        pl.Series("gmv", np.round(sims["gmv"][:, 0], 2)),
        pl.Series("likes", sims["likes"][:, 0]),
        pl.Series("avg_stay_s", np.round(sims["avg_stay_s"][:, 0], 3)).fill_nan(None),
    )


__all__ = ["Truth", "draw_truth", "known_calibration", "session_plan", "synthetic_history"]


def _history_in_time(
    truths: list[Truth], plan: pl.DataFrame, seed: int, market: MarketParams
) -> pl.DataFrame:
    """`synthetic_history` with drift and market: every session a pseudo-host of its own whose
    level carries them (drawn here from ``seed``), then the known model draws its counts."""
    import datetime as dt

    from forecast.engine.compile import EPOCH
    from forecast.model.drift import FITTED as DRIFT_FITTED
    from forecast.model.presets import SPREAD_CLASS, time_layer

    rng = np.random.default_rng([seed, 11])
    phi = math.exp(-1.0 / market.market_weeks)
    epoch = dt.datetime.combine(EPOCH, dt.time())
    days = np.array([(t - epoch).total_seconds() / 86_400.0 for t in plan["start"]])
    weeks = np.floor(days / 7.0).astype(np.int64)
    w0, w1 = int(weeks.min()), int(weeks.max())
    pseudo: list[Truth] = []
    names = []
    for t in truths:
        layer = time_layer(t.tier)
        tau = layer["drift_days"]
        e = rng.standard_normal((w1 - w0 + 1, len(METRICS)))
        y = np.empty_like(e)
        y[0] = e[0]
        for w in range(1, y.shape[0]):
            y[w] = phi * y[w - 1] + math.sqrt(1 - phi * phi) * e[w]
        hosts: dict[str, dict[str, float]] = {}
        sigma = {m: t.sigma[m] for m in METRICS}
        for m in METRICS:
            if m != "price":
                sigma[m] = t.sigma[m] * DRIFT_FITTED[(SPREAD_CLASS[t.tier], m)].session_scale
        for h in t.hosts:
            rows = np.flatnonzero(plan["influencer"].to_numpy() == h)
            rows = rows[np.argsort(days[rows])]
            x = rng.standard_normal(len(METRICS))
            prev = None
            for r in rows:
                if prev is not None:
                    a = math.exp(-(days[r] - days[prev]) / tau)
                    x = a * x + math.sqrt(1 - a * a) * rng.standard_normal(len(METRICS))
                level = {}
                for j, m in enumerate(METRICS):
                    if m == "price":
                        level[m] = t.hosts[h][m]
                        continue
                    level[m] = (
                        t.hosts[h][m]
                        + layer[f"{m}_drift_sd"] * x[j]
                        + layer[f"{m}_market_sd"] * y[weeks[r] - w0, j]
                    )
                hosts[f"{h}@{r}"] = level
                names.append((int(r), f"{h}@{r}"))
                prev = r
        pseudo.append(Truth(t.tier, t.mu, t.tau, sigma, hosts))
    cal = known_calibration(pseudo, session_scale=True)
    order = dict(names)
    renamed = plan.with_columns(pl.Series("influencer", [order[i] for i in range(plan.height)]))
    sims = simulate_sessions(cal, renamed, 1, seed, market)
    return plan.with_columns(
        pl.Series("views", sims["views"][:, 0]),
        pl.Series("units", sims["units"][:, 0]),
        pl.Series("gmv", np.round(sims["gmv"][:, 0], 2)),
        pl.Series("likes", sims["likes"][:, 0]),
        pl.Series("avg_stay_s", np.round(sims["avg_stay_s"][:, 0], 3)).fill_nan(None),
    )
