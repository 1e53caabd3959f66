"""Integrals of the watch-time law that turn arrival bins into exact cohort rates.

A viewer arriving at time t (hours) stays D hours, log-logistic with scale ``alpha`` (its
median) and shape ``beta`` > 1: survival S(x) = 1 / (1 + (x / alpha) ** beta). Everything the
kernels need in closed form reduces to

    F0(y) = integral_0^y S(x) dx          (expected min(D, y), hours)
    F1(y) = integral_0^y x S(x) dx        (hours squared)

evaluated by Gauss-Legendre quadrature on geometric pieces of [0, y]: on each piece the
integrand is analytic, so 12 nodes give about machine precision (checked against the closed
form F0(inf) = alpha (pi / beta) / sin(pi / beta) in the tests, for shapes 1.05 to 20).

With arrivals piecewise constant on bins, the rates of every *exposure pattern* (which of a
session's products a viewer sees) follow exactly; this is what lets the cohort kernel draw
counts instead of viewers without changing any distribution.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(12)
_BELOW = 20  # the last piece ends at alpha * 2^-20; below it S = 1 - (x/alpha)^beta to 2^-40
_BLOCK = 2048  # points per vectorised block (bounds memory)

#: Sessions whose integrals are remembered: a portfolio's campaigns often repeat a session
#: (the same influencer, hours and products in several plans), and its integrals cost more
#: than the rest of compiling a strategy. The functions are pure, so a remembered result is
#: the same bits as a recomputed one.
MEMO_SESSIONS = 1024

_R = TypeVar("_R")


def _memo(func: Callable[..., _R]) -> Callable[..., _R]:
    """Remember ``func``'s result per value of its arguments: float64 arrays (by their bytes
    and shape) and floats. Arrays it returns are made read-only."""

    @functools.lru_cache(maxsize=MEMO_SESSIONS)
    def by_value(*key: Any) -> _R:
        args = [
            np.frombuffer(k[1], dtype=np.float64).reshape(k[0]) if isinstance(k, tuple) else k
            for k in key
        ]
        out = func(*args)
        for value in vars(out).values() if hasattr(out, "__dict__") else ():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return out

    @functools.wraps(func)
    def wrapper(*args: Any) -> _R:
        key = [
            (a.shape, np.ascontiguousarray(a, dtype=np.float64).tobytes())
            if isinstance(a, np.ndarray)
            else float(a)
            for a in args
        ]
        return by_value(*key)

    return wrapper


def _moments(y: np.ndarray, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """(F0(y), F1(y)) for y >= 0, elementwise.

    [0, y] is cut into dyadic pieces [y 2^-(k+1), y 2^-k] down to alpha * 2^-20, each into
    ceil(beta / 2) geometric sub-pieces: the integrand's nearest complex singularity lies at
    angle pi / beta from the real axis, so the sharper the law, the finer the pieces must be
    for 12 nodes to reach machine precision. What is left, [0, r], is integrated with
    S(x) = 1 - (x / alpha)^beta, exact to a relative 2^(-40 beta).
    """
    y = np.asarray(y, dtype=np.float64)
    flat = y.reshape(-1)
    f0 = np.empty_like(flat)
    f1 = np.empty_like(flat)
    sub = max(1, math.ceil(beta / 2.0))
    ratio = 2.0 ** (1.0 / sub) - 1.0
    u = (_NODES + 1.0) / 2.0  # nodes on [0, 1]
    for i in range(0, flat.size, _BLOCK):
        block = flat[i : i + _BLOCK]
        top = float(block.max()) if block.size else 0.0
        pieces = max(0, math.ceil(math.log2(top / alpha)) + _BELOW) if top > 0 else 0
        k = np.arange(pieces * sub)
        lo_frac = 2.0 ** (-(k + 1) / sub)  # sub-piece [lo, lo * 2^(1/sub)], fractions of y
        yy = block[:, None, None]
        lo = yy * lo_frac[None, :, None]
        x = lo * (1.0 + ratio * u[None, None, :])
        w = lo * ratio * (_WEIGHTS / 2.0)[None, None, :]
        s = 1.0 / (1.0 + (x / alpha) ** beta)
        r = block * 2.0**-pieces
        tail = (r / alpha) ** beta
        f0[i : i + _BLOCK] = (s * w).sum(axis=(1, 2)) + r * (1.0 - tail / (beta + 1.0))
        f1[i : i + _BLOCK] = (x * s * w).sum(axis=(1, 2)) + r * r * (0.5 - tail / (beta + 2.0))
    return f0.reshape(y.shape), f1.reshape(y.shape)


def expected_stay(y: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """E[min(D, y)], hours, for y >= 0 hours: a viewer's stay capped at the session end."""
    return _moments(y, alpha, beta)[0]


@_memo
def mean_stay(
    t0: np.ndarray, width: np.ndarray, rate: np.ndarray, span: float, alpha: float, beta: float
) -> float:
    """Expected stay of one arrival, hours, over a session of ``span`` hours whose arrival
    rate is ``rate[i]`` on bin [t0[i], t0[i] + width[i]); a stay ends at the session end.

    Per bin: (1 / width) * integral_{t0}^{t0+w} F0(span - t) dt, which is
    [y F0(y) - F1(y)] between y = span - t0 - w and span - t0. Zero when no one arrives.
    """
    total = float(rate.sum())
    if total <= 0.0:
        return 0.0
    hi = np.maximum(span - t0, 0.0)
    lo = np.maximum(span - t0 - width, 0.0)
    points, where = np.unique(np.concatenate([hi, lo]), return_inverse=True)
    f0, f1 = _moments(points, alpha, beta)  # adjacent bins share an edge: evaluate it once
    g = points * f0 - f1
    per_bin = g[where[: hi.size]] - g[where[hi.size :]]
    return float(np.sum(rate / width * per_bin) / total)


@dataclass(frozen=True)
class Patterns:
    """Exposure patterns of one session: a viewer sees the products ``lo .. hi - 1`` of the
    session (in slot order); ``lo == hi`` means none. ``rate`` is the expected number of
    arrivals with that pattern at traffic multiplier 1."""

    lo: np.ndarray  # int64[P]
    hi: np.ndarray  # int64[P]
    rate: np.ndarray  # float64[P]


@_memo
def exposure_patterns(
    t0: np.ndarray,
    width: np.ndarray,
    rate: np.ndarray,
    q_start: np.ndarray,
    q_end: np.ndarray,
    alpha: float,
    beta: float,
) -> Patterns:
    """Expected arrivals per exposure pattern, from piecewise-constant arrival bins.

    A viewer arriving at t and leaving at t + D sees product q iff q_end > t and q_start <
    t + D (the same test as the per-viewer kernel). Products are sorted by slot start, and slot
    ends are in the same order, so the products a viewer sees are always a contiguous run.
    Bins are split at every slot boundary; on a piece [a, b) the products with q_end >= b and
    q_start <= a are seen by every arrival, and one starting at c >= b is reached with
    probability (1 / (b - a)) integral_a^b S(c - t) dt = (F0(c - a) - F0(c - b)) / (b - a).
    """
    if np.any(np.diff(q_start) < 0) or np.any(np.diff(q_end) < 0):
        raise ValueError("products must be in slot order with ends in the same order")
    cuts = np.unique(np.concatenate([q_start, q_end]))
    pieces: list[tuple[float, float, float]] = []  # (a, b, arrival density per hour)
    for lo_t, w, r in zip(t0, width, rate, strict=True):
        if r <= 0.0 or w <= 0.0:
            continue
        hi_t = lo_t + w
        inner = cuts[(cuts > lo_t) & (cuts < hi_t)]
        edges = np.concatenate([[lo_t], inner, [hi_t]])
        for a, b in itertools.pairwise(edges):
            if b > a:
                pieces.append((float(a), float(b), float(r / w)))
    # first pass: which thresholds each piece needs, so F0 is evaluated in one call
    plan: list[tuple[int, int, np.ndarray]] = []  # (first seen, always seen, group ends)
    args_hi: list[np.ndarray] = []
    args_lo: list[np.ndarray] = []
    for a, b, _ in pieces:
        first = int(np.searchsorted(q_end, b, side="left"))  # q_end >= b from here
        always = first + int(np.searchsorted(q_start[first:], a, side="right"))
        ahead = q_start[always:]
        starts, counts = np.unique(ahead, return_counts=True)
        ends = always + np.cumsum(counts)
        plan.append((first, always, ends))
        args_hi.append(starts - a)
        args_lo.append(starts - b)
    total: dict[tuple[int, int], float] = {}
    if pieces:
        reach = expected_stay(np.concatenate(args_hi), alpha, beta) - expected_stay(
            np.concatenate(args_lo), alpha, beta
        )
        offset = 0
        for (a, b, density), (first, always, ends) in zip(pieces, plan, strict=True):
            k = ends.size
            # integral over the piece of P(reach >= threshold j), j = 0 (always) .. k
            mass = np.empty(k + 2)
            mass[0] = b - a
            mass[1 : k + 1] = np.clip(reach[offset : offset + k], 0.0, b - a)
            mass[k + 1] = 0.0
            offset += k
            mass[1 : k + 1] = np.minimum.accumulate(mass[1 : k + 1])
            stops = np.concatenate([[always], ends])
            for j in range(k + 1):
                got = density * (mass[j] - mass[j + 1])
                if got <= 0.0:
                    continue
                hi_q = int(stops[j])
                key = (first, hi_q) if hi_q > first else (0, 0)
                total[key] = total.get(key, 0.0) + got
    keys = sorted(total)
    return Patterns(
        lo=np.array([k[0] for k in keys], dtype=np.int64),
        hi=np.array([k[1] for k in keys], dtype=np.int64),
        rate=np.array([total[k] for k in keys], dtype=np.float64),
    )


__all__ = ["Patterns", "expected_stay", "exposure_patterns", "mean_stay"]
