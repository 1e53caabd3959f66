"""The arrival intensity of a livestream: ramp-up, plateau, wind-down, link-on bursts.

Relative to the plateau (1.0) the rate at time t (minutes from the start of a session of
H hours, T = 60 H minutes) is::

    base(t)  = min(1, ramp(t), tail(t))
    ramp(t)  = ramp_start + (1 - ramp_start) * t / ramp_minutes          (if ramp_minutes > 0)
    tail(t)  = tail_end + (1 - tail_end) * (T - t) / tail_minutes        (if tail_minutes > 0)
    shape(t) = base(t) + burst_lift * #{slots k : start_k <= t < start_k + burst_minutes}

with slot k of the stream's ``assortment`` equal slots starting at k * T / assortment. The
expected number of arrivals at traffic multiplier 1 is ``views_per_hour`` times the integral
of the shape in hours. The kernels use it piecewise constant on bins of ``bin_minutes``:
each bin keeps the exact integral of the shape over it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from forecast.model.entities import MarketParams

_SUBSTEPS = 256


def base_shape(t: np.ndarray, hours: float, market: MarketParams | _Profile) -> np.ndarray:
    """Ramp/plateau/tail factor at times ``t`` (minutes), relative to the plateau."""
    total = 60.0 * hours
    out = np.ones_like(t, dtype=np.float64)
    if market.ramp_minutes > 0:
        ramp = market.ramp_start + (1.0 - market.ramp_start) * t / market.ramp_minutes
        out = np.minimum(out, ramp)
    if market.tail_minutes > 0:
        tail = market.tail_end + (1.0 - market.tail_end) * (total - t) / market.tail_minutes
        out = np.minimum(out, tail)
    return out


def bins(
    hours: float, assortment: int, views_per_hour: float, market: MarketParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin starts (hours), widths (hours) and expected arrivals per bin at traffic 1
    (read-only arrays, remembered per value of the arguments: a search compiles thousands of
    strategies of the same sessions)."""
    m = market
    profile = (
        m.bin_minutes,
        m.ramp_minutes,
        m.ramp_start,
        m.tail_minutes,
        m.tail_end,
        m.burst_lift,
        m.burst_minutes,
    )
    return _bins(float(hours), int(assortment), float(views_per_hour), profile)


@functools.lru_cache(maxsize=4096)
def _bins(
    hours: float, assortment: int, views_per_hour: float, profile: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bin_minutes, ramp_minutes, ramp_start, tail_minutes, tail_end, burst_lift, burst_minutes = (
        profile
    )
    market = _Profile(ramp_minutes, ramp_start, tail_minutes, tail_end)
    total = 60.0 * hours
    edges = np.arange(0.0, total, bin_minutes)
    edges = np.append(edges, total)
    if edges[-1] - edges[-2] < 1e-9:
        edges = np.delete(edges, -2)
    lo, hi = edges[:-1], edges[1:]
    width = hi - lo
    # base shape: midpoint rule on 256 sub-steps per bin (exact on linear pieces)
    frac = (np.arange(_SUBSTEPS) + 0.5) / _SUBSTEPS
    pts = lo[:, None] + width[:, None] * frac[None, :]
    integral = base_shape(pts, hours, market).mean(axis=1) * width
    # bursts: exact overlap of each bin with each slot's burst window
    if burst_lift > 0 and burst_minutes > 0:
        starts = np.arange(assortment) * (total / assortment)
        b_lo = starts[None, :]
        b_hi = np.minimum(starts + burst_minutes, total)[None, :]
        overlap = np.clip(np.minimum(hi[:, None], b_hi) - np.maximum(lo[:, None], b_lo), 0, None)
        integral = integral + burst_lift * overlap.sum(axis=1)
    out = (lo / 60.0, width / 60.0, views_per_hour * integral / 60.0)
    for a in out:
        a.flags.writeable = False
    return out


@dataclass(frozen=True)
class _Profile:
    """The market's arrival profile fields `base_shape` reads."""

    ramp_minutes: float
    ramp_start: float
    tail_minutes: float
    tail_end: float


def expected_arrivals(
    hours: float, assortment: int, views_per_hour: float, market: MarketParams
) -> float:
    """Expected arrivals of a session at traffic multiplier 1 (its median traffic)."""
    return float(bins(hours, assortment, views_per_hour, market)[2].sum())


#: Resolution of a short video's arrival intensity, hours.
VIDEO_BIN_HOURS = 6.0


def video_bins(
    days: float, views: float, market: MarketParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bins of a short video counted for ``days``: starts and widths in hours, and expected
    views per bin at traffic 1. Views arrive at rate views / tau * exp(-t / tau) with
    tau = video_half_life_days / ln 2, so a video expects views * (1 - 2**(-days/half-life))
    within its window."""
    total = days * 24.0
    edges = np.append(np.arange(0.0, total, VIDEO_BIN_HOURS), total)
    if edges[-1] - edges[-2] < 1e-9:
        edges = np.delete(edges, -2)
    tau = market.video_half_life_days * 24.0 / np.log(2.0)
    lo, hi = edges[:-1], edges[1:]
    return lo, hi - lo, views * (np.exp(-lo / tau) - np.exp(-hi / tau))
