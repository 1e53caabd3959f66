"""Calibrate influencers to their past sessions: `calibrate` fits, `Calibration` holds the fit.

What is fitted are the simulator's own parameters. For a host of tier t, relative to the
tier's preset B (`forecast.model.presets`), its log levels

    traffic     views_per_hour = B.views_per_hour x e^a_T
    stay        dwell_mean_s   = B.dwell_mean_s   x e^a_S
    engagement  likes_per_minute (and comments, gifts) x e^a_E
    conversion  conversion     = B.conversion     x e^a_C
    price       GMV per unit   = `REFERENCE_PRICE` x e^a_P   (for the products of a forecast)

and per tier the population of hosts (mean mu and between-host sd tau of each level) and the
session-core sd sigma of each metric (the flop and hit parts of the session laws stay the
tier's, fitted to MODEL.md's real sessions: a few hundred sessions cannot pin a 1 % tail).

The observation operator is the simulator's expectation, computed by the engine's own
functions (`forecast.engine.arrivals`, `forecast.engine.stay`, the purchase probability of
`forecast.engine.compile`) for a session of the history's hours and products presented,
every product of the stream counted, at the market's reference discount: median views
V_s e^a_T, mean stay S_s e^(a_S + x), likes per view lpm e^a_E x stay minutes, units per
view conversion x dilution x exposures per arrival x units per order. The session effects
enter as the simulator draws them, so each metric's log deviation from its operator is
host level + session effect + count noise: `forecast.analysis.posterior` gives that
hierarchy's exact posterior. Nothing is simulated in the fit; `Calibration.predict` and
every forecast with a fitted influencer draw what the fit implies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from forecast.analysis import posterior as post
from forecast.analysis.blas import one_blas_thread
from forecast.analysis.drift_fit import fit_time
from forecast.analysis.history import History, HistoryError, read_history
from forecast.analysis.observation import (
    AMATEUR_BASE_LEVEL,
    DRIFT_METRICS,
    MAX_FIT_HOSTS,
    MAX_FIT_SESSIONS,
    METRICS,
    PARAMETER,
    REFERENCE_PRICE,
    STAY_NODE_VAR,
    UNITS_NOISE,
    Operator,
    TierFit,
    base_influencer,
    check_shape_work,
    law_parts,
    operator,
)
from forecast.engine.compile import EPOCH
from forecast.engine.run import check_seed
from forecast.model import validation as v
from forecast.model.drift import window_mean_share
from forecast.model.entities import (
    MAX_TRAFFIC_SIGMA,
    MAX_VIEWS_PER_HOUR,
    Influencer,
    MarketParams,
)
from forecast.model.enums import Tier
from forecast.model.fitted import (
    CALIBRATION_KIND,
    fitted_influencer,
    influencer_fields,
    read_calibration_metadata,
)
from forecast.model.presets import time_layer
from forecast.results.io import write_table
from forecast.results.provenance import versions

#: Posterior draws kept by default (a forecast's influencer carries their moments).
DRAWS = 1000


def _observations(
    tier: Tier, frame: pl.DataFrame, hosts: tuple[str, ...], market: MarketParams
) -> dict[str, Any]:
    """Per session: host index, operator values and the observed logs of each metric."""
    base = base_influencer(tier)
    index = {h: i for i, h in enumerate(hosts)}
    host = np.array([index[h] for h in frame.get_column("influencer")], dtype=np.int64)
    hours = frame.get_column("hours").to_numpy()
    prod = frame.get_column("products").fill_null(base.assortment).to_numpy().astype(np.int64)
    ops = [operator(tier, float(h), int(n), market) for h, n in zip(hours, prod, strict=True)]
    col = {c: frame.get_column(c).to_numpy().astype(np.float64) for c in ("views", "units", "gmv")}
    col["likes"] = frame.get_column("likes").to_numpy().astype(np.float64)
    col["stay"] = frame.get_column("avg_stay_s").to_numpy().astype(np.float64)
    return {
        "base": base,
        "host": host,
        "ops": ops,
        "V": np.array([o.views for o in ops]),
        **col,
    }


def _metric_data(
    metric: str, obs: dict[str, Any], hosts: int, stay_level: np.ndarray
) -> tuple[post.Data, np.ndarray]:
    """The `posterior.Data` of ``metric``: log deviations from the operator, censoring of
    zero counts, count variances. ``stay_level``: each host's posterior mean log stay, used
    where a session's stay is missing."""
    base: Influencer = obs["base"]
    views, host = obs["views"], obs["host"]
    seen = np.isfinite(views) & (views > 0)
    per = np.where(seen, views, 1.0)  # a session no one watched says nothing per view
    ops: list[Operator] = obs["ops"]
    has_stay = seen & np.isfinite(obs["stay"]) & (np.nan_to_num(obs["stay"]) > 0)
    log_stay = np.array(
        [
            float(o.stay_multiplier(np.array(st))) if ok_ else stay_level[h]
            for o, st, ok_, h in zip(ops, obs["stay"], has_stay, host, strict=True)
        ]
    )
    stay_min = (
        np.where(
            has_stay,
            obs["stay"],
            np.array([float(o.stay_s(x)) for o, x in zip(ops, log_stay, strict=True)]),
        )
        / 60.0
    )
    if metric == "traffic":
        ok = np.isfinite(views)
        y = np.log(np.maximum(views, 0.5) / obs["V"])  # the operator is at the base reach
        var = 1.0 / np.maximum(views, 1.0)
        cens = views <= 0
    elif metric == "stay":
        ok = has_stay
        y = log_stay
        var = np.full(views.size, STAY_NODE_VAR)
        cens = np.zeros(views.size, dtype=bool)
    elif metric == "engagement":
        count = obs["likes"]
        ok = seen & np.isfinite(count)
        y = np.log(np.maximum(count, 0.5) / per) - np.log(stay_min * base.likes_per_minute)
        var = 1.0 / np.maximum(count, 1.0)
        cens = count <= 0
    elif metric == "conversion":
        count = obs["units"]
        ok = seen & np.isfinite(count)
        expected = np.array(
            [float(o.units_per_view(base, x)) for o, x in zip(ops, log_stay, strict=True)]
        )
        y = np.log(np.maximum(count, 0.5) / per / expected)
        var = UNITS_NOISE / np.maximum(count, 1.0)
        cens = count <= 0
    else:  # price: GMV per unit, where both are known and positive
        units, gmv = obs["units"], obs["gmv"]
        ok = np.isfinite(units) & np.isfinite(gmv) & (units > 0) & (gmv > 0)
        y = np.log(np.where(ok, gmv, 1.0) / np.where(ok, units, 1.0) / REFERENCE_PRICE)
        var = np.zeros(views.size)
        cens = np.zeros(views.size, dtype=bool)
    ok = ok & np.isfinite(np.where(ok, y, 0.0))
    return post.Data(hosts, host[ok], y[ok], cens[ok], var[ok]), ok


def session_days(frame: pl.DataFrame) -> np.ndarray:
    """Each row's ``start`` as days (with the time of day) from the market calendar's epoch,
    nan where it is missing or the table has no ``start`` column."""
    if "start" not in frame.columns:
        return np.full(frame.height, np.nan)
    epoch = dt.datetime.combine(EPOCH, dt.time())
    col = frame.get_column("start").cast(pl.Datetime("us"))
    micros = (col - epoch).dt.total_microseconds().cast(pl.Float64)
    return micros.fill_null(np.nan).to_numpy() / 86_400e6


def _fit_tier(
    tier: Tier,
    frame: pl.DataFrame,
    market: MarketParams,
    draws: int,
    rng: np.random.Generator,
    dated: bool,
) -> TierFit:
    hosts = tuple(frame.get_column("influencer").unique(maintain_order=True).to_list())
    obs = _observations(tier, frame, hosts, market)
    base: Influencer = obs["base"]
    fits: dict[str, post.Posterior] = {}
    counts: dict[str, np.ndarray] = {}
    stay_level = np.zeros(len(hosts))
    data_of: dict[str, tuple[post.Data, np.ndarray]] = {}
    for metric in METRICS:
        data, ok = _metric_data(metric, obs, len(hosts), stay_level)
        data_of[metric] = (data, ok)
        jumps, prior = law_parts(base, metric)
        fits[metric] = post.fit(data, jumps, prior, draws, rng)
        counts[metric] = np.bincount(data.host, minlength=len(hosts))
        if metric == "stay":
            stay_level = fits[metric].a.mean(axis=0)
    prod = (
        frame.group_by("influencer", maintain_order=True)
        .agg(pl.col("products").median())
        .get_column("products")
        .fill_null(0.0)
        .to_numpy()
    )
    time_fits: dict[str, dict[str, float]] = {}
    last_day = None
    if dated:
        days = session_days(frame)
        host_of = obs["host"]
        last_day = np.full(len(hosts), np.nan)
        for i in range(len(hosts)):
            mine = days[host_of == i]
            if np.isfinite(mine).any():
                last_day[i] = float(np.nanmax(mine))
        defaults = time_layer(tier)
        for metric in DRIFT_METRICS:
            data, ok = data_of[metric]
            p = fits[metric]
            tf = fit_time(
                data,
                days[ok],
                p.a.mean(axis=0),
                defaults[f"{metric}_drift_sd"],
                defaults["drift_days"],
                defaults[f"{metric}_market_sd"],
                market.market_weeks,
            )
            # the levels as of each host's last session: shifted, and widened to at least
            # the variance the fit in time gives them
            extra = np.sqrt(np.maximum(np.nan_to_num(tf.level_var) - p.a.var(axis=0), 0.0))
            z = rng.standard_normal(p.a.shape)
            a = p.a + tf.shift[None, :] + extra[None, :] * z
            fits[metric] = post.Posterior(p.mu, p.tau, p.sigma * tf.session_scale, a, p.new)
            time_fits[metric] = {
                "drift_sd": round(tf.drift_sd, 6),
                "drift_days": tf.drift_days,
                "session_scale": round(tf.session_scale, 6),
                "market_sd": round(tf.market_sd, 6),
                "market_fitted": float(tf.market_fitted),
                "market_weeks": market.market_weeks,
                "hosts_used": float(tf.hosts_used),
            }
    return TierFit(tier, hosts, fits, counts, np.round(prod).astype(np.int64), time_fits, last_day)


#: Bounds of the fitted Influencer fields, as `forecast.model.entities` checks them (every
#: sd and sigma field has the traffic sigma's bound; a test holds each to the model's); a
#: fit beyond one is capped there and says so in `Calibration.notes`.
FIELD_BOUNDS = {
    "views_per_hour": MAX_VIEWS_PER_HOUR,
    "dwell_mean_s": 86_400.0,
    "likes_per_minute": 1_000.0,
    "comments_per_minute": 1_000.0,
    "gifts_per_hour": 100_000.0,
    "conversion": 1.0,
    "traffic_sigma": MAX_TRAFFIC_SIGMA,
    "conversion_sigma": MAX_TRAFFIC_SIGMA,
    "engagement_sigma": MAX_TRAFFIC_SIGMA,
    "stay_sigma": MAX_TRAFFIC_SIGMA,
    "host_traffic_sd": MAX_TRAFFIC_SIGMA,
    "host_conversion_sd": MAX_TRAFFIC_SIGMA,
    "host_engagement_sd": MAX_TRAFFIC_SIGMA,
    "host_stay_sd": MAX_TRAFFIC_SIGMA,
}


def _fitted_fields(
    base: Influencer,
    fit: TierFit,
    level: dict[str, np.ndarray],
    who: str = "host",
    notes: list[str] | None = None,
    host_index: int | None = None,
    new_host: bool = False,
) -> dict[str, Any]:
    """Influencer fields whose levels carry ``level`` (metric -> draws of the log level):
    each field at its posterior mean on the log scale, the host sd at its posterior sd, each
    session core at the root mean square of its posterior. A field beyond its bound
    (`FIELD_BOUNDS`) is capped, with a line in ``notes`` naming ``who``."""
    f = influencer_fields(base)
    m = {k: float(np.mean(x)) for k, x in level.items()}
    sd = {k: float(np.std(x)) for k, x in level.items()}
    f["views_per_hour"] = base.views_per_hour * math.exp(m["traffic"])
    f["dwell_mean_s"] = base.dwell_mean_s * math.exp(m["stay"])
    for name in ("likes_per_minute", "comments_per_minute", "gifts_per_hour"):
        f[name] = getattr(base, name) * math.exp(m["engagement"])
    f["conversion"] = base.conversion * math.exp(m["conversion"])
    for metric in ("traffic", "stay", "engagement", "conversion"):
        f[f"host_{metric}_sd"] = sd[metric]
        rms = float(np.sqrt(np.mean(fit.metrics[metric].sigma ** 2)))
        f["traffic_sigma" if metric == "traffic" else f"{metric}_sigma"] = rms
        timed = fit.time.get(metric)
        if timed:  # the fit in time: its drift and market, the session law's jumps scaled
            jumps = fit.jumps(metric)
            f[f"{metric}_flop_mean"] = jumps.flop_mean
            f[f"{metric}_hit_mean"] = jumps.hit_mean
            f[f"{metric}_drift_sd"] = timed["drift_sd"]
            f[f"{metric}_market_sd"] = timed["market_sd"]
            f["drift_days"] = timed["drift_days"]
    if fit.time and new_host:
        # a new host's between-host spread (the fitted tau, of hosts' levels over their
        # histories) already holds the part of the drift such levels show: what the drift
        # adds on top is the rest, as for the presets (`presets.host_spread`)
        for metric in DRIFT_METRICS:
            timed = fit.time.get(metric)
            if timed:
                held = window_mean_share(timed["drift_days"]) * timed["drift_sd"] ** 2
                sd_ = f[f"host_{metric}_sd"]
                f[f"host_{metric}_sd"] = math.sqrt(max(sd_**2 - held, (sd_ / 2) ** 2))
    if fit.time and host_index is not None and fit.last_day is not None:
        last = fit.last_day[host_index]
        if np.isfinite(last):
            f["as_of"] = (EPOCH + dt.timedelta(days=math.floor(last))).isoformat()
    for name, hi in FIELD_BOUNDS.items():
        if f[name] > hi:
            if notes is not None:
                notes.append(
                    f"{who}: fitted {name} = {f[name]:.4g} is beyond the influencer's bound "
                    f"{hi:g}; capped there"
                )
            f[name] = hi
    return f


@dataclass(frozen=True)
class Calibration:
    """Posterior of hosts fitted to past sessions (`calibrate`); see the module docstring.

    ``influencer(name)`` and ``new_influencer(tier, name)`` give `Influencer` objects for
    `forecast.Session`; ``summary()`` the fitted parameters; ``predict(sessions)`` the
    predictive distribution of sessions; ``save(path)`` a Parquet file that
    `load_calibration` and strategy files read."""

    tiers: Mapping[Tier, TierFit]
    meta: dict[str, Any]
    notes: tuple[str, ...] = field(default=())
    seconds: float = 0.0
    """How long the fit took, seconds (not saved: a saved fit is the same bytes for the same
    data and seed)."""

    @property
    def market(self) -> MarketParams:
        """The market the fit's operators used (its arrivals, stay and sensitivities)."""
        return MarketParams(**self.meta["settings"]["market"])

    @functools.cached_property
    def hosts(self) -> dict[str, Tier]:
        """Fitted host -> tier (built once: a predictive of many sessions asks per row)."""
        return {h: t.tier for t in self.tiers.values() for h in t.hosts}

    @functools.cached_property
    def _index(self) -> dict[str, tuple[TierFit, int]]:
        return {h: (t, i) for t in self.tiers.values() for i, h in enumerate(t.hosts)}

    def _locate(self, name: str) -> tuple[TierFit, int]:
        if name in self._index:
            return self._index[name]
        known = sorted(self.hosts)
        shown = ", ".join(known[:20]) + (
            f" and {len(known) - 20:,} more" if len(known) > 20 else ""
        )
        raise KeyError(f"host {name!r} is not in the calibration; known: {shown or 'none'}")

    def influencer(self, host: str, name: str | None = None, **overrides: Any) -> Influencer:
        """The fitted ``host`` (KeyError naming the known hosts if it is not one), named
        ``name`` (default: the host's), with its levels' posterior uncertainty as host sds:
        each path of a forecast draws them, keyed by (seed, path, name). Fields can be
        overridden by keyword (fees, say)."""
        self._locate(host)
        return fitted_influencer(self.meta, host=host, name=name, source="calibration", **overrides)

    def new_influencer(self, tier: Tier | str, name: str, **overrides: Any) -> Influencer:
        """A host of ``tier`` not in the data, drawn from the tier's fitted population (its
        levels' sds add the between-host spread to what the fit leaves uncertain)."""
        return fitted_influencer(self.meta, tier=tier, name=name, source="calibration", **overrides)

    def level_draws(self, name: str | None, tier: Tier | None = None) -> dict[str, np.ndarray]:
        """Posterior draws of the log levels of host ``name`` (or, None, a new host of
        ``tier``), per metric."""
        if name is not None:
            t, i = self._locate(name)
            return {m: t.metrics[m].a[:, i] for m in METRICS}
        assert tier is not None
        t = self.tiers[tier]
        return {m: t.metrics[m].new for m in METRICS}

    def summary(self) -> pl.DataFrame:
        """Every fitted parameter by tier and host (host null: the tier's population), with
        posterior mean, sd, 5 % and 95 % quantiles and the number of sessions behind it.
        Host parameters are the Influencer fields (views_per_hour, dwell_mean_s,
        likes_per_minute, conversion; gmv_per_unit in CNY); tier parameters are the
        between-host sd (``host_<metric>_sd``, log units), the session-core sd
        (``<metric>_sigma``, log units) and the fields of a new host."""
        rows: list[dict[str, Any]] = []

        def add(tier: Tier, host: str | None, name: str, x: np.ndarray, n: int) -> None:
            q = np.quantile(x, [0.05, 0.95])
            rows.append(
                {
                    "tier": tier.value,
                    "host": host,
                    "parameter": name,
                    "mean": float(np.mean(x)),
                    "sd": float(np.std(x)),
                    "q05": float(q[0]),
                    "q95": float(q[1]),
                    "sessions": n,
                }
            )

        for t in self.tiers.values():
            base = base_influencer(t.tier)
            for metric in METRICS:
                scale = REFERENCE_PRICE if metric == "price" else getattr(base, PARAMETER[metric])
                p = t.metrics[metric]
                for i, h in enumerate(t.hosts):
                    add(
                        t.tier,
                        h,
                        PARAMETER[metric],
                        scale * np.exp(p.a[:, i]),
                        int(t.sessions[metric][i]),
                    )
                n = int(t.sessions[metric].sum())
                add(t.tier, None, PARAMETER[metric], scale * np.exp(p.new), n)
                add(t.tier, None, f"host_{metric}_sd", p.tau, n)
                add(t.tier, None, f"{metric}_sigma", p.sigma, n)
        return pl.DataFrame(rows, schema_overrides={"host": pl.String})

    def draws_table(self) -> pl.DataFrame:
        """The posterior draws in long form: tier, host (null for the tier's own), metric,
        quantity (a: host level, mu, tau, sigma, new: a new host's level), draw, value; the
        text columns are categorical (`polars.Enum`)."""
        # categorical columns: a fit of 10,000 hosts has 50 million rows, and text repeated
        # on each of them held 7.5 GB while it was written
        every = [h for t in self.tiers.values() for h in t.hosts]
        host_type = pl.Enum(every)
        tier_type = pl.Enum([t.value for t in Tier])
        metric_type = pl.Enum(list(METRICS))
        quantity_type = pl.Enum(list(QUANTITIES))
        parts = []
        for t in self.tiers.values():
            for metric in METRICS:
                p = t.metrics[metric]
                n, hosts = p.mu.size, len(t.hosts)
                rows = n * (4 + hosts)
                parts.append(
                    pl.DataFrame(
                        {
                            "tier": pl.Series([t.tier.value], dtype=tier_type)
                            .repeat_by(rows)
                            .explode(),
                            "host": pl.Series([None] * 4 + list(t.hosts), dtype=host_type)
                            .repeat_by(n)
                            .explode(),
                            "metric": pl.Series([metric], dtype=metric_type)
                            .repeat_by(rows)
                            .explode(),
                            "quantity": pl.Series(
                                [*QUANTITIES[:4]] + ["a"] * hosts, dtype=quantity_type
                            )
                            .repeat_by(n)
                            .explode(),
                            "draw": np.tile(np.arange(n), 4 + hosts),
                            "value": np.concatenate([p.mu, p.tau, p.sigma, p.new, p.a.T.ravel()]),
                        }
                    )
                )
        return pl.concat(parts)

    def save(self, path: str | Path) -> None:
        """Write the fit to ``path`` (Parquet): the draws as the table, the fitted
        influencers and the fit's provenance (data digest, seed, versions, settings) in the
        file's metadata. Written whole or not at all."""
        write_table(self.draws_table(), {**self.meta, "notes": list(self.notes)}, path)

    def predict(
        self,
        sessions: Any,
        draws: int = 2000,
        seed: int = 0,
        *,
        method: str = "model",
        backend: Any = None,
    ) -> pl.DataFrame:
        """Predictive distribution of sessions: ``sessions`` is a table of the history's
        format (`forecast.analysis.history`; influencer, tier, hours, and products where
        known); hosts not in the fit are new hosts of their tier. Returns one row per
        session and output (views, units, likes, avg_stay_s, gmv) with the predictive
        p05, p25, p50, p75, p95 and, where the table has the observed value, ``observed``,
        its PIT (predictive CDF at the observed value, mid-rank for ties) and whether the
        90 % interval holds it. ``method="model"`` (default) draws ``draws`` sessions from
        the fit's laws; ``"kernel"`` forecasts each session with the simulator, ``draws``
        paths each through `forecast.run` on ``backend`` (local threads, "dask", a Dask
        client). See `forecast.analysis.predictive`."""
        from forecast.analysis.predictive import predict

        return predict(self, sessions, draws=draws, seed=seed, method=method, backend=backend)

    def predict_totals(
        self, sessions: Any, by: str = "week", draws: int = 2000, seed: int = 0
    ) -> pl.DataFrame:
        """Predictive of each host's total views, units, likes and GMV per calendar week
        (``by="week"``) or over all its sessions (``by="host"``), the sessions of a group
        drawn jointly (one drift path, one market path). See
        `forecast.analysis.predictive.predict_totals`."""
        from forecast.analysis.predictive import predict_totals

        return predict_totals(self, sessions, by=by, draws=draws, seed=seed)


def _check_cost(history: History) -> None:
    """Refuse, in one line and before any work, a history too large to fit here: more than
    `MAX_FIT_HOSTS` hosts, `MAX_FIT_SESSIONS` sessions, or session shapes whose operators
    cost more than `MAX_SHAPE_WORK`."""
    frame = history.frame
    hosts = frame.get_column("influencer").n_unique()
    if hosts > MAX_FIT_HOSTS:
        raise HistoryError(
            f"{history.source}: column influencer: {hosts:,} hosts is not allowed; a fit takes "
            f"at most {MAX_FIT_HOSTS:,} hosts (about 8 ms a host): fit them in parts, by tier "
            "or region"
        )
    if frame.height > MAX_FIT_SESSIONS:
        raise HistoryError(
            f"{history.source}: {frame.height:,} sessions is not allowed; a fit takes at most "
            f"{MAX_FIT_SESSIONS:,}: keep each host's recent sessions, or fit in parts"
        )
    products = [
        int(n) if n is not None else base_influencer(Tier(t)).assortment
        for t, n in zip(frame.get_column("tier"), frame.get_column("products"), strict=True)
    ]
    try:
        check_shape_work("calibrate", frame.get_column("tier"), frame.get_column("hours"), products)
    except ValueError as err:
        raise HistoryError(f"{history.source}: {err}") from None


@one_blas_thread
def calibrate(
    sessions: Any,
    seed: int | None = 0,
    *,
    draws: int = DRAWS,
    market: MarketParams | None = None,
) -> Calibration:
    """Fit every host of ``sessions`` (a CSV or Parquet file or a polars DataFrame, format in
    `forecast.analysis.history`) to its past sessions, tier by tier (module docstring).
    ``seed`` fixes the posterior draws (the same data and seed give the same bits);
    ``draws`` how many are kept, in [100, 100000]; ``market`` the market whose reference
    discount, categories and assortment the levels are fitted at (default: the defaults)."""
    started = time.perf_counter()
    seed_value, _ = check_seed(seed, "calibrate")
    n_draws = v.integer("calibrate", "draws", draws, 100, 100_000)
    mkt = market if market is not None else MarketParams()
    if not isinstance(mkt, MarketParams):
        raise v.fail("calibrate", "market", market, "must be MarketParams")
    history = sessions if isinstance(sessions, History) else read_history(sessions)
    frame = history.frame
    _check_cost(history)
    tiers: dict[Tier, TierFit] = {}
    notes = list(history.notes)
    dated = bool(np.isfinite(session_days(frame)).any())
    if not dated:
        notes.append(
            "the sessions have no dates (no start column, or it is empty): the static fit; "
            "hosts carry no drift and no market factor, so a forecast weeks ahead is as "
            "narrow as one of the next day. Give each session its start to fit the drift"
        )
    for tier in Tier:
        part = frame.filter(pl.col("tier") == tier.value)
        if part.height == 0:
            continue
        rng = np.random.default_rng([seed_value, list(Tier).index(tier)])
        tiers[tier] = _fit_tier(tier, part, mkt, n_draws, rng, dated)
        n_hosts = len(tiers[tier].hosts)
        if n_hosts < 3:
            notes.append(
                f"tier {tier.value}: {v.plural(n_hosts, 'host')}; its between-host spread rests "
                "mostly on the prior (MODEL.md's figures)"
            )
    influencers: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for t in tiers.values():
        base = base_influencer(t.tier)
        for i, h in enumerate(t.hosts):
            level = {m: t.metrics[m].a[:, i] for m in METRICS}
            fields = _fitted_fields(base, t, level, f"host {h!r}", notes, i)
            fields["name"] = h
            if t.products[i] > 0:
                fields["assortment"] = int(t.products[i])
                fields["categories"] = min(base.categories, int(t.products[i]))
            Influencer(**fields)  # checked here, so a bad fit fails now, not when read
            influencers[h] = fields
        new_levels = {m: t.metrics[m].new for m in METRICS}
        fields = _fitted_fields(
            base, t, new_levels, f"a new {t.tier.value} host", notes, new_host=True
        )
        fields["name"] = f"new {t.tier.value}"
        Influencer(**fields)
        new[t.tier.value] = fields
    meta = {
        "kind": CALIBRATION_KIND,
        "format": 1,
        "seed": seed_value,
        "draws": n_draws,
        "data_digest": history.digest,
        "source": history.source,
        "sessions": frame.height,
        "hosts": {h: t.tier.value for t in tiers.values() for h in t.hosts},
        "versions": versions(),
        "settings": {
            "method": "exact likelihood of the session layer, hierarchical, on grids",
            "mu_sd": post.MU_SD,
            "log_sd_tau": post.LOG_SD_TAU,
            "log_sd_sigma": post.LOG_SD_SIGMA,
            "grid": [post.N_SIGMA, post.N_TAU, post.N_MU, post.N_FINE, post.N_COARSE],
            "reference_price": REFERENCE_PRICE,
            "amateur_base_level": AMATEUR_BASE_LEVEL,
            "market": dataclasses.asdict(mkt),
        },
        "influencers": influencers,
        "new": new,
        "time": {t.tier.value: dict(t.time) for t in tiers.values()},
        "last_day": {
            t.tier.value: (
                None
                if t.last_day is None
                else [None if not np.isfinite(x) else float(x) for x in t.last_day]
            )
            for t in tiers.values()
        },
        "session_counts": {
            t.tier.value: {m: t.sessions[m].tolist() for m in METRICS} for t in tiers.values()
        },
    }
    return Calibration(tiers, meta, tuple(notes), time.perf_counter() - started)


#: The quantities of the draws table, in the order it writes them.
QUANTITIES = ("mu", "tau", "sigma", "new", "a")


def _posterior_of(
    m: pl.DataFrame, hosts: tuple[str, ...], index: dict[str, int], path: Any, what: str
) -> post.Posterior:
    """One tier and metric's draws from its rows of a draws table (any row order): each
    quantity's values placed by draw, the host levels by host and draw in one scatter."""
    m = m.with_columns(pl.col("host").cast(pl.String), pl.col("quantity").cast(pl.String))
    draws = int(np.max(m.get_column("draw").to_numpy(), initial=-1)) + 1
    out: dict[str, np.ndarray] = {}
    for qty in QUANTITIES[:4]:
        sel = m.filter((pl.col("quantity") == qty) & pl.col("host").is_null())
        x = np.full(draws, np.nan)
        x[sel.get_column("draw").to_numpy()] = sel.get_column("value").to_numpy()
        out[qty] = x
    sel = m.filter(pl.col("quantity") == "a")
    col = sel.get_column("host").replace_strict(index, default=-1, return_dtype=pl.Int64)
    a = np.full((draws, len(hosts)), np.nan)
    known = col.to_numpy() >= 0
    a[sel.get_column("draw").to_numpy()[known], col.to_numpy()[known]] = sel.get_column(
        "value"
    ).to_numpy()[known]
    if any(np.isnan(x).any() for x in out.values()) or np.isnan(a).any():
        raise ValueError(f"{path}: the draws of {what} are incomplete; the file is damaged")
    return post.Posterior(out["mu"], out["tau"], out["sigma"], a, out["new"])


def load_calibration(path: str | Path) -> Calibration:
    """A `Calibration` saved by `Calibration.save`, draws and metadata as they were."""
    meta = read_calibration_metadata(path)
    draws = pl.read_parquet(path)
    tiers: dict[Tier, TierFit] = {}
    for tier_value in draws.get_column("tier").cast(pl.String).unique(maintain_order=True):
        tier = Tier(tier_value)
        part = draws.filter(pl.col("tier") == tier_value)
        hosts = tuple(h for h, t in meta["hosts"].items() if t == tier_value)
        metrics: dict[str, post.Posterior] = {}
        sessions: dict[str, np.ndarray] = {}
        index = {h: i for i, h in enumerate(hosts)}
        for metric in METRICS:
            m = part.filter(pl.col("metric") == metric)
            metrics[metric] = _posterior_of(m, hosts, index, path, f"{tier_value} {metric}")
            counts = meta["session_counts"][tier_value][metric]
            sessions[metric] = np.asarray(counts, dtype=np.int64)
        products = np.array([meta["influencers"][h]["assortment"] for h in hosts], dtype=np.int64)
        last = (meta.get("last_day") or {}).get(tier_value)
        tiers[tier] = TierFit(
            tier,
            hosts,
            metrics,
            sessions,
            products,
            (meta.get("time") or {}).get(tier_value, {}),
            None if last is None else np.array([np.nan if x is None else x for x in last]),
        )
    return Calibration(tiers, meta, tuple(meta.get("notes", ())))


__all__ = ["Calibration", "base_influencer", "calibrate", "load_calibration", "operator"]
