"""The compile step: a validated `Strategy` becomes the flat arrays the kernels eat.

Everything static is folded here (purchase probabilities with every session-level effect,
arrival bins, prices, keys), so a kernel does arithmetic on numbers only. The column layout
is `kernels.layout`.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np

from forecast.engine import arrivals, stay
from forecast.engine import limits as lim
from forecast.model import validation as v
from forecast.model.entities import MarketParams, Session, Strategy
from forecast.model.enums import Format, Kind
from kernels import layout as L
from kernels.timeline import GRID_WEEKS, MARKET_SERIES

#: Day 0 of the market factor's calendar (a Monday): week w is days 7w .. 7w + 6 from it.
EPOCH = datetime.date.fromisoformat(v.FIRST_DATE_ISO)

#: Carried state above this many bytes per worker thread is refused with an explanation.
MAX_STATE_BYTES = 4 * 2**30


def key64(text: str) -> int:
    """A stable 64-bit key of a text (blake2b), as an unsigned int."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Compiled:
    """Flat arrays describing one strategy; see `kernels.layout` for the columns."""

    skeys: np.ndarray  # uint64[S]
    sf: np.ndarray  # float64[S, N_SF]
    si: np.ndarray  # int64[S, N_SI]
    bins: np.ndarray  # float64[B, N_BF]
    qf: np.ndarray  # float64[Q, N_QF]
    qi: np.ndarray  # int64[Q, N_QI]
    qkey: np.ndarray  # uint64[Q]
    pools: np.ndarray  # int64[P, N_PI]
    mkt: np.ndarray  # float64[N_MF]
    state_rows: int
    state_cols: int
    fx: np.ndarray  # float64[S, N_FX]: influencer and session effects
    ikey: np.ndarray  # uint64[I]: influencer keys (host effects)
    stay_mult: np.ndarray  # float64[S, K]: stay multiplier of each node (1 where unused)
    stay_mean: np.ndarray  # float64[S, K]: expected stay of one arrival at each node, hours
    traffic_mean: np.ndarray  # float64[S]: mean traffic multiplier (host, core, jumps)
    market_on: np.ndarray  # bool[MARKET_SERIES]: the market series the sessions load on

    @property
    def n_sessions(self) -> int:
        return int(self.sf.shape[0])

    @property
    def state_bytes(self) -> int:
        """Per-viewer kernel: carried-state workspace of one worker thread, bytes."""
        return 4 * self.state_rows * self.state_cols

    def check_viewer_memory(self, name: str, threads: int = 1) -> None:
        """Refuse a per-viewer run whose carried state (one int16 pair per audience identity
        and product shown in several sessions, for each of ``threads`` threads at once)
        exceeds `MAX_STATE_BYTES` per thread or the memory free on this machine."""
        advice = (
            "use method='cohort' (its memory does not grow with audiences), fewer threads, "
            "or lower market.shared_audience or the followers of influencers with several "
            "sessions"
        )
        what = (
            f"strategy {name!r}: the per-viewer kernel's carried state "
            f"({self.state_rows:,} audience identities x {self.state_cols} "
            f"product{'s' if self.state_cols != 1 else ''} shown in several sessions, on "
            f"{threads} thread{'s' if threads != 1 else ''})"
        )
        if self.state_bytes > MAX_STATE_BYTES:
            raise ValueError(
                f"{what} needs {self.state_bytes / 2**30:.1f} GiB per thread; allowed up to "
                f"{MAX_STATE_BYTES / 2**30:.0f} GiB: {advice}"
            )
        lim.check_memory(float(threads * self.state_bytes), what, advice)

    def expected_arrivals(self) -> float:
        """Expected arrivals of one path over all its sessions: each session's arrivals at
        median traffic times the mean of its traffic multiplier (`traffic_mean`)."""
        per_session = np.add.reduceat(self.bins[:, L.BF_RATE], self.si[:, L.SI_BIN_START])
        return float(np.sum(per_session * self.traffic_mean))


def purchase_probability(session: Session, discount: float, m: MarketParams) -> float:
    """Probability that an exposed viewer who never bought buys, before carried-state effects."""
    inf = session.influencer
    tier = inf.tier
    assert session.categories is not None and session.assortment is not None
    p = (
        inf.conversion
        * session.fit
        * math.exp(m.discount_sensitivity[tier] * (discount - m.reference_discount))
        * (session.categories / m.reference_categories) ** -m.category_sensitivity[tier]
        * (session.assortment / m.reference_assortment) ** -m.assortment_sensitivity[tier]
    )
    return min(float(p), 1.0)


def dwell_scale_hours(mean_s: float, shape: float) -> float:
    """Log-logistic scale (median), hours, for a mean watch time ``mean_s`` seconds."""
    x = math.pi / shape
    return mean_s * math.sin(x) / x / 3600.0


def _check_bins(strategy: Strategy) -> None:
    """Refuse a strategy whose arrival bins would not fit in reason (`limits.MAX_BINS`)."""
    m = strategy.market
    total = 0
    for s in strategy.sessions:
        if s.format is Format.VIDEO:
            total += math.ceil(s.days * 24.0 / arrivals.VIDEO_BIN_HOURS)
        else:
            total += math.ceil(60.0 * s.hours / m.bin_minutes)
    if total > lim.MAX_BINS:
        raise ValueError(
            f"strategy {strategy.name!r}: market.bin_minutes = {m.bin_minutes:g} cuts its "
            f"sessions into {total:,} arrival bins; at most {lim.MAX_BINS:,} (raise "
            "bin_minutes, or shorten or split the sessions)"
        )


def _check_scale(k: int, session: Session, sf: np.ndarray, fx: np.ndarray, expected: float) -> None:
    """Refuse a session whose counts could overflow at a traffic draw of probability 1e-12
    (`limits.Z_TAIL` for the normal parts, `limits.E_TAIL` for a hit); the output check
    catches the rarer ones."""
    inf = session.influencer
    o = f"session {session.label!r}"
    t = L.FX_TRAFFIC * L.FX_STRIDE
    spread = math.hypot(
        float(sf[k, L.SF_SIGMA]),
        float(fx[k, t + L.FX_HOST_SD]),
        float(fx[k, t + L.FX_DRIFT_SD]),
        float(fx[k, t + L.FX_MARKET_SD]),
    )
    hit = lim.E_TAIL * fx[k, t + L.FX_HIT_M] if fx[k, t + L.FX_HIT_P] > 0 else 0.0
    worst = expected * math.exp(lim.Z_TAIL * spread + hit)
    rate = "video_views" if session.format is Format.VIDEO else "views_per_hour"
    if worst > lim.MAX_SESSION_VIEWS:
        raise ValueError(
            f"{o}: influencer {inf.name!r} ({rate} = {getattr(inf, rate):g}, traffic_sigma = "
            f"{inf.traffic_sigma:g}) could draw {worst:.3g} arrivals in one session at its "
            f"highest traffic; at most {lim.MAX_SESSION_VIEWS:.0e} (lower {rate}, "
            "traffic_sigma, market.traffic_noise or market.burst_lift)"
        )
    watch = worst * sf[k, L.SF_MEAN_STAY]
    for field, per_hour in (
        ("likes_per_minute", sf[k, L.SF_LIKE_RATE]),
        ("comments_per_minute", sf[k, L.SF_COMMENT_RATE]),
        ("gifts_per_hour", sf[k, L.SF_GIFT_RATE]),
    ):
        if per_hour * watch > lim.MAX_SESSION_ENGAGEMENT:
            raise ValueError(
                f"{o}: influencer {inf.name!r} ({field} = {getattr(inf, field):g}) could draw "
                f"{per_hour * watch:.3g} in one session at its highest traffic; at most "
                f"{lim.MAX_SESSION_ENGAGEMENT:.0e} (lower {field} or the session's views)"
            )


def _fill_effects(
    k: int, session: Session, m: MarketParams, fx: np.ndarray, stay_nodes: list[np.ndarray]
) -> float:
    """Session ``k``'s effect parameters (scaled by the market) into ``fx[k]``, and the
    multipliers of its stay nodes into ``stay_nodes``; returns the mean of its traffic
    multiplier (host effect times session law)."""
    from forecast.model.spread import EffectLaw

    inf = session.influencer
    on = m.session_effects
    host = m.host_uncertainty
    for metric, col in (
        ("traffic", L.FX_TRAFFIC),
        ("conversion", L.FX_CONVERSION),
        ("engagement", L.FX_ENGAGEMENT),
        ("stay", L.FX_STAY),
    ):
        law = inf.law(metric)
        sd = law.sd * m.traffic_noise if metric == "traffic" else law.sd * on
        scaled = EffectLaw(sd, law.flop_prob * on, law.flop_mean, law.hit_prob * on, law.hit_mean)
        base = col * L.FX_STRIDE
        fx[k, base + L.FX_SD] = scaled.sd
        fx[k, base + L.FX_FLOP_P] = scaled.flop_prob
        fx[k, base + L.FX_FLOP_M] = scaled.flop_mean
        fx[k, base + L.FX_HIT_P] = scaled.hit_prob
        fx[k, base + L.FX_HIT_M] = scaled.hit_mean
        fx[k, base + L.FX_MEDIAN] = scaled.median()
        fx[k, base + L.FX_HOST_SD] = getattr(inf, f"host_{metric}_sd") * host
        fx[k, base + L.FX_DRIFT_SD] = getattr(inf, f"{metric}_drift_sd") * m.drift
        fx[k, base + L.FX_MARKET_SD] = getattr(inf, f"{metric}_market_sd") * m.market_factor
        # the level's spread beyond the session: host, and the time layer where it is on
        level_sd = fx[k, base + L.FX_HOST_SD]
        time_var = fx[k, base + L.FX_DRIFT_SD] ** 2 + fx[k, base + L.FX_MARKET_SD] ** 2
        if time_var > 0.0:
            level_sd = math.sqrt(level_sd**2 + time_var)
        if metric == "traffic":
            traffic_mean = scaled.mean_multiplier() * math.exp(fx[k, base + L.FX_HOST_SD] ** 2 / 2)
            if time_var > 0.0:
                traffic_mean *= math.exp(time_var / 2)
        if metric == "stay":
            host_sd = level_sd
            step = m.stay_step
            if scaled.is_zero and host_sd == 0.0:
                lo, count = 0.0, 1
            else:
                low = scaled.quantile(lim.STAY_TAIL) - lim.Z_STAY * host_sd
                high = scaled.quantile(1.0 - lim.STAY_TAIL) + lim.Z_STAY * host_sd
                step = max(step, (high - low) / (lim.MAX_STAY_NODES - 2))
                lo = step * math.floor(low / step)
                count = min(math.ceil((high - lo) / step) + 1, lim.MAX_STAY_NODES)
            fx[k, L.FX_STAY_LO] = lo
            fx[k, L.FX_STAY_STEP] = step
            fx[k, L.FX_STAY_NODES] = float(count)
            logs = lo + step * np.arange(count)
            stay_nodes.append(np.where(np.abs(logs) < 1e-12, 1.0, np.exp(logs)))
    return traffic_mean


def calendar_day(strategy: Strategy, day: float) -> float:
    """Days from `EPOCH` of campaign day ``day`` (an undated campaign's day 0 is `EPOCH`)."""
    offset = 0 if strategy.start is None else (strategy.start - EPOCH).days
    return offset + day


def _fill_time(
    k: int,
    session: Session,
    strategy: Strategy,
    fx: np.ndarray,
    si: np.ndarray,
    last_of: dict[str, int],
) -> None:
    """Session ``k``'s time-layer columns: its calendar week and market class, which of its
    influencer's sessions it is, the one before it, and the drift's correlation with it (or
    with a fitted host's last session, `Influencer.as_of`)."""
    inf = session.influencer
    o = f"session {session.label!r}"
    week = math.floor(calendar_day(strategy, session.day) / 7.0)
    if week > GRID_WEEKS:
        raise ValueError(f"{o}: its date is past the market calendar's last week ({GRID_WEEKS})")
    si[k, L.SI_WEEK] = week
    si[k, L.SI_CLASS] = 0 if inf.is_mega else 1
    prev = last_of.get(inf.name, -1)
    si[k, L.SI_DRIFT_PREV] = prev
    si[k, L.SI_ORDINAL] = 0 if prev < 0 else si[prev, L.SI_ORDINAL] + 1
    last_of[inf.name] = k
    assert inf.drift_days is not None
    if prev >= 0:
        gap = session.day - strategy.sessions[prev].day
        fx[k, L.FX_DRIFT_RHO] = math.exp(-gap / inf.drift_days)
    elif inf.as_of is not None:
        if strategy.start is None:
            gap = session.day  # an undated campaign starts right after the host's last session
        else:
            gap = (strategy.start - inf.as_of).days + session.day
            if gap < 0:
                raise ValueError(
                    f"{o}: on {(strategy.start + datetime.timedelta(days=session.day))} it is "
                    f"before influencer {inf.name!r}'s last fitted session ({inf.as_of}); a "
                    "forecast starts after the history it was fitted to"
                )
        fx[k, L.FX_DRIFT_RHO] = math.exp(-gap / inf.drift_days)
        fx[k, L.FX_DRIFT_ANCHOR] = 1.0


@functools.lru_cache(maxsize=stay.MEMO_SESSIONS)
def _node_stays(
    arrays: bytes, span: float, scales: tuple[float, ...], shape: float
) -> tuple[float, ...]:
    """`stay.mean_stay` of one session at each stay node's watch-time scale, remembered per
    session (its bins ``arrays``: starts, widths, rates, as bytes), so that compiling
    thousands of strategies of the same sessions hashes each session's bins once, not once a
    node. Pure: a remembered value has the same bits."""
    t0, width, rate = np.frombuffer(arrays, dtype=np.float64).reshape(3, -1)
    return tuple(stay.mean_stay(t0, width, rate, span, a, shape) for a in scales)


def compile_strategy(strategy: Strategy) -> Compiled:
    """Turn ``strategy`` into kernel arrays; refuses (ValueError naming the field) a strategy
    whose arrival bins or counts would be beyond reason (`forecast.engine.limits`)."""
    _check_bins(strategy)
    m = strategy.market
    sessions = strategy.sessions
    n = len(sessions)
    products = {p.name: i for i, p in enumerate(strategy.products)}
    influencers = {inf.name: i for i, inf in enumerate(strategy.influencers)}

    # audience pools: 0 is the shared market, 1 + i the followers of influencer i.
    pool_sizes = [m.shared_audience] + [inf.followers for inf in strategy.influencers]
    pool_use = [0] * len(pool_sizes)
    product_use = [0] * len(products)
    for s in sessions:
        if s.influencer.shared_share > 0:
            pool_use[0] += 1
        if s.influencer.shared_share < 1:
            pool_use[1 + influencers[s.influencer.name]] += 1
        for p in s.products:
            product_use[products[p.name]] += 1
    state_col = [-1] * len(products)
    cols = 0
    for i, uses in enumerate(product_use):
        if uses >= 2:
            state_col[i] = cols
            cols += 1
    pools = np.full((len(pool_sizes), L.N_PI), -1, dtype=np.int64)
    rows = 0
    for i, size in enumerate(pool_sizes):
        pools[i, L.PI_SIZE] = size
        pools[i, L.PI_CORE] = min(size, max(1, round(m.core_people * size)))
        if pool_use[i] >= 2 and cols > 0:
            pools[i, L.PI_ROW0] = rows
            rows += size
    if rows == 0:
        cols = 0
        state_col = [-1] * len(products)

    sf = np.zeros((n, L.N_SF), dtype=np.float64)
    si = np.zeros((n, L.N_SI), dtype=np.int64)
    fx = np.zeros((n, L.N_FX), dtype=np.float64)
    traffic_mean = np.ones(n, dtype=np.float64)
    stay_nodes: list[np.ndarray] = []
    bin_views: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    skeys = np.zeros(n, dtype=np.uint64)
    bin_parts: list[np.ndarray] = []
    qf_rows: list[list[float]] = []
    qi_rows: list[list[int]] = []
    qkeys: list[int] = []
    b_total = 0
    last_of: dict[str, int] = {}
    for k, s in enumerate(sessions):
        inf = s.influencer
        assert s.label is not None and s.assortment is not None and s.positions is not None
        skeys[k] = np.uint64(key64("session:" + s.label))
        video = s.format is Format.VIDEO
        reach = m.episode_reach_decay ** (s.episode - 1)
        sf[k, L.SF_DAY] = s.day
        sf[k, L.SF_HOURS] = s.span_hours
        sf[k, L.SF_SIGMA] = inf.traffic_sigma * m.traffic_noise
        sf[k, L.SF_SHARED] = inf.shared_share
        dwell_mean = m.video_dwell_mean_s if video else inf.dwell_mean_s
        sf[k, L.SF_DWELL_SCALE] = dwell_scale_hours(dwell_mean, inf.dwell_shape)
        sf[k, L.SF_DWELL_SHAPE] = inf.dwell_shape
        sf[k, L.SF_LIKE_RATE] = inf.likes_per_minute * 60.0
        sf[k, L.SF_COMMENT_RATE] = inf.comments_per_minute * 60.0
        sf[k, L.SF_GIFT_RATE] = inf.gifts_per_hour
        sf[k, L.SF_GIFT_MEAN] = inf.gift_value_mean
        sf[k, L.SF_GIFT_CV2] = inf.gift_value_cv**2
        if video:
            t0, width, rate = arrivals.video_bins(s.days, inf.video_views * reach, m)
        else:
            t0, width, rate = arrivals.bins(s.hours, s.assortment, inf.views_per_hour * reach, m)
        bin_parts.append(np.stack([t0, width, rate], axis=1))
        sf[k, L.SF_MEAN_STAY] = stay.mean_stay(
            t0, width, rate, s.span_hours, sf[k, L.SF_DWELL_SCALE], inf.dwell_shape
        )
        bin_views.append((t0, width, rate))
        traffic_mean[k] = _fill_effects(k, s, m, fx, stay_nodes)
        _check_scale(k, s, sf, fx, float(rate.sum()))
        si[k, L.SI_BIN_START] = b_total
        b_total += len(t0)
        si[k, L.SI_BIN_END] = b_total
        si[k, L.SI_Q_START] = len(qf_rows)
        slot = s.hours / s.assortment
        for p, pos in sorted(zip(s.products, s.positions, strict=True), key=lambda x: x[1]):
            price = p.list_price * (1.0 - s.discount(p))
            voucher = p.kind is Kind.VOUCHER
            qf_rows.append(
                [
                    0.0 if video else pos * slot,
                    s.span_hours if video else (pos + 1) * slot,
                    purchase_probability(s, s.discount(p), m),
                    price,
                    p.unit_cost,
                    0.0 if voucher else p.returns,
                    p.units_per_order - 1.0,
                    p.verify_prob,
                    p.verify_delay_days,
                    p.validity_days,
                ]
            )
            qi_rows.append([products[p.name], state_col[products[p.name]], int(voucher)])
            qkeys.append(key64("product:" + p.name))
        si[k, L.SI_Q_END] = len(qf_rows)
        si[k, L.SI_OWN_POOL] = 1 + influencers[inf.name]
        si[k, L.SI_IS_MEGA] = int(inf.is_mega)
        si[k, L.SI_INFLUENCER] = influencers[inf.name]
        _fill_time(k, s, strategy, fx, si, last_of)

    mkt = np.zeros(L.N_MF, dtype=np.float64)
    mkt[L.MF_TRUST_PENALTY] = m.trust_penalty
    mkt[L.MF_TRUST_FADE_DAYS] = m.trust_fade_days
    mkt[L.MF_SATURATION] = m.saturation
    mkt[L.MF_CORE_ARRIVALS] = m.core_arrivals
    chol = m.cholesky()
    assert chol is not None  # the market checked it
    mkt[L.MF_L10], mkt[L.MF_L11] = chol[1], chol[2]
    mkt[L.MF_L20], mkt[L.MF_L21], mkt[L.MF_L22] = chol[3], chol[4], chol[5]
    mkt[L.MF_MARKET_PHI] = math.exp(-1.0 / m.market_weeks)
    mkt[L.MF_WEEK_LO] = float(si[:, L.SI_WEEK].min())
    mkt[L.MF_WEEK_HI] = float(si[:, L.SI_WEEK].max())
    mkt[L.MF_STAY_CLASS_CORR] = m.market_stay_correlation
    market_on = np.zeros(MARKET_SERIES, dtype=np.bool_)
    loaded = fx[:, [col * L.FX_STRIDE + L.FX_MARKET_SD for col in range(4)]].max(axis=1) > 0.0
    for cls, series in ((0, (0, 1, 2, 6)), (1, (3, 4, 5, 6, 7))):
        if np.any(loaded & (si[:, L.SI_CLASS] == cls)):
            market_on[list(series)] = True
    width_k = max(len(x) for x in stay_nodes)
    stay_mult = np.ones((n, width_k), dtype=np.float64)
    stay_mean = np.zeros((n, width_k), dtype=np.float64)
    for k, nodes in enumerate(stay_nodes):
        t0, width, rate = bin_views[k]
        means = _node_stays(
            np.stack([t0, width, rate]).tobytes(),
            float(sf[k, L.SF_HOURS]),
            tuple(float(sf[k, L.SF_DWELL_SCALE] * mult) for mult in nodes),
            float(sf[k, L.SF_DWELL_SHAPE]),
        )
        for j, mult in enumerate(nodes):
            stay_mult[k, j] = mult
            stay_mean[k, j] = sf[k, L.SF_MEAN_STAY] if mult == 1.0 else means[j]
    compiled = Compiled(
        skeys=skeys,
        sf=sf,
        si=si,
        bins=np.ascontiguousarray(np.concatenate(bin_parts, axis=0)),
        qf=np.asarray(qf_rows, dtype=np.float64).reshape(-1, L.N_QF),
        qi=np.asarray(qi_rows, dtype=np.int64).reshape(-1, L.N_QI),
        qkey=np.asarray(qkeys, dtype=np.uint64),
        pools=pools,
        mkt=mkt,
        state_rows=rows,
        state_cols=cols,
        fx=fx,
        ikey=np.asarray(
            [key64("influencer:" + inf.name) for inf in strategy.influencers], dtype=np.uint64
        ),
        stay_mult=stay_mult,
        stay_mean=stay_mean,
        traffic_mean=traffic_mean,
        market_on=market_on,
    )
    return compiled
