"""How much sessions and hosts vary: the law of an effect on the log scale, and the real
figures of ``../shared/MODEL.md`` ("How much sessions vary") it is fitted to.

A session's effect on one metric (traffic, conversion, engagement or stay) is a multiplier
exp(X - median X), with

    X = sd * Z + J,   Z ~ N(0, 1),
    J = -Exp(flop_mean)  with probability flop_prob   (a flop: sessions where little sells),
    J = +Exp(hit_mean)   with probability hit_prob    (a hit),
    J = 0                otherwise,

so the host's own level is its *median* session, as the reference figures are medians. Why
this family: real sessions have a narrow core (robust sd 0.13-0.65 on the log scale) and
tails far heavier than a normal one, on the left above all (units per view of KOL sessions:
1 % of sessions sell 8.5 log units, 5,000 times, below their host's median). A normal core
with exponential jumps reproduces that with parameters a reader can name ("8 % of sessions
flop, by e^-4 on average"), its CDF is closed form (a mixture of exponentially modified
Gaussians), and a kernel draws it with two uniforms and a normal. A Student-t has one tail
parameter for both sides and a skew-normal's tails are light.

What we do not know about a host (the between-host spread) is a normal on the log scale with
the sd of the hosts' medians: MODEL.md gives only that sd (8 and 10 hosts).

`fit` finds the five parameters that reproduce MODEL.md's within-host quantiles; the fitted
values are the presets' (`forecast.model.presets`), and tests/model/test_spread.py holds them
to the figures.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Quantile levels of MODEL.md's within-host table.
LEVELS = (0.01, 0.05, 0.25, 0.75, 0.95, 0.99)

#: MODEL.md, log deviations of a session from its host's median, p1 / p5 / p25 / p75 / p95 /
#: p99, by host class (celebrity = mega, KOL = mid) and metric.
WITHIN_HOST: dict[tuple[str, str], tuple[float, ...]] = {
    ("celebrity", "traffic"): (-0.94, -0.58, -0.22, 0.26, 0.65, 0.96),
    ("KOL", "traffic"): (-1.07, -0.73, -0.23, 0.31, 1.07, 1.69),
    ("celebrity", "conversion"): (-2.46, -1.26, -0.29, 0.21, 0.51, 0.75),
    ("KOL", "conversion"): (-8.48, -3.33, -0.29, 0.25, 0.83, 1.35),
    ("celebrity", "engagement"): (-1.28, -1.07, -0.39, 0.45, 1.01, 1.64),
    ("KOL", "engagement"): (-2.60, -1.67, -0.31, 0.36, 1.31, 2.12),
    ("celebrity", "stay"): (-0.85, -0.61, -0.08, 0.11, 0.39, 0.70),
    ("KOL", "stay"): (-1.09, -0.40, -0.09, 0.09, 0.32, 0.47),
}
"""Traffic is views per hour, conversion units per view, engagement likes per view, stay
the average stay of a viewer."""

#: MODEL.md, robust sd (1.4826 x MAD) of the same deviations.
WITHIN_HOST_SD: dict[tuple[str, str], float] = {
    ("celebrity", "traffic"): 0.38,
    ("KOL", "traffic"): 0.38,
    ("celebrity", "conversion"): 0.35,
    ("KOL", "conversion"): 0.40,
    ("celebrity", "engagement"): 0.65,
    ("KOL", "engagement"): 0.50,
    ("celebrity", "stay"): 0.14,
    ("KOL", "stay"): 0.13,
}

#: MODEL.md, sd of the hosts' medians of the log (8 celebrity hosts, 10 KOL hosts).
BETWEEN_HOSTS: dict[tuple[str, str], float] = {
    ("celebrity", "traffic"): 0.59,
    ("KOL", "traffic"): 1.00,
    ("celebrity", "conversion"): 0.37,
    ("KOL", "conversion"): 0.68,
    ("celebrity", "engagement"): 0.83,
    ("KOL", "engagement"): 0.93,
    ("celebrity", "stay"): 0.20,
    ("KOL", "stay"): 0.38,
}

#: MODEL.md, correlations of the logs across sessions (celebrity, KOL).
CORRELATIONS: dict[tuple[str, str], tuple[float, float]] = {
    ("traffic", "engagement"): (0.21, 0.46),
    ("traffic", "conversion"): (0.35, 0.17),
    ("conversion", "engagement"): (-0.13, -0.17),
}

METRICS = ("traffic", "conversion", "engagement", "stay")


def _log_phi(t: float) -> float:
    """log of the standard normal CDF, accurate far in the left tail."""
    if t > -30.0:
        return math.log(0.5 * math.erfc(-t / math.sqrt(2.0)))
    return -0.5 * t * t - math.log(-t) - 0.5 * math.log(2.0 * math.pi)


def _exgauss_up(x: float, sd: float, mean: float) -> float:
    """P(sd Z + E <= x), E ~ Exp(mean), Z ~ N(0, 1)."""
    if sd <= 0.0:
        return 0.0 if x <= 0.0 else -math.expm1(-x / mean)
    base = 0.5 * math.erfc(-(x / sd) / math.sqrt(2.0))
    log_term = -x / mean + sd * sd / (2.0 * mean * mean) + _log_phi(x / sd - sd / mean)
    return max(0.0, base - math.exp(min(log_term, 700.0)))


def _exgauss_down(x: float, sd: float, mean: float) -> float:
    """P(sd Z - E <= x) = 1 - P(sd Z + E < -x)."""
    return 1.0 - _exgauss_up(-x, sd, mean)


@dataclass(frozen=True)
class EffectLaw:
    """The law of one effect on the log scale (see the module docstring); all >= 0, means of
    the jumps > 0 where their probability is, ``flop_prob + hit_prob <= 1``, ``hit_mean < 1``
    (so that the multiplier has a finite mean)."""

    sd: float = 0.0
    flop_prob: float = 0.0
    flop_mean: float = 1.0
    hit_prob: float = 0.0
    hit_mean: float = 0.5

    @property
    def is_zero(self) -> bool:
        """No spread at all: the multiplier is 1."""
        return self.sd == 0.0 and self.flop_prob == 0.0 and self.hit_prob == 0.0

    def raw_cdf(self, x: float) -> float:
        """P(X <= x) of the uncentered law."""
        none = 1.0 - self.flop_prob - self.hit_prob
        if self.sd > 0.0:
            core = 0.5 * math.erfc(-(x / self.sd) / math.sqrt(2.0))
        else:
            core = 1.0 if x >= 0.0 else 0.0
        total = none * core
        if self.flop_prob > 0.0:
            total += self.flop_prob * _exgauss_down(x, self.sd, self.flop_mean)
        if self.hit_prob > 0.0:
            total += self.hit_prob * _exgauss_up(x, self.sd, self.hit_mean)
        return min(1.0, max(0.0, total))

    def _raw_quantile(self, p: float) -> float:
        return _raw_quantile(self, p)

    def _bisect(self, p: float) -> float:
        lo, hi = -200.0, 200.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if self.raw_cdf(mid) < p:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-12:
                break
        return 0.5 * (lo + hi)

    def median(self) -> float:
        """Median of the uncentered law: exactly 0 without jumps (a normal core alone)."""
        if self.flop_prob == 0.0 and self.hit_prob == 0.0:
            return 0.0
        return self._raw_quantile(0.5)

    def quantile(self, p: float) -> float:
        """Quantile ``p`` of the centered law X - median X (log scale)."""
        if self.is_zero:
            return 0.0
        return self._raw_quantile(p) - self.median()

    def mean_multiplier(self) -> float:
        """E[exp(X - median X)]: the mean of the multiplier (its median is 1)."""
        if self.is_zero:
            return 1.0
        core = math.exp(0.5 * self.sd * self.sd)
        jumps = 1.0 - self.flop_prob - self.hit_prob
        jumps += self.flop_prob / (1.0 + self.flop_mean)
        if self.hit_prob > 0.0:
            jumps += self.hit_prob / (1.0 - self.hit_mean)
        return core * jumps * math.exp(-self.median())

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws of the centered law (for tests and the naive reference)."""
        x = self.sd * rng.standard_normal(n)
        u = rng.random(n)
        flop = u < self.flop_prob
        hit = (u >= self.flop_prob) & (u < self.flop_prob + self.hit_prob)
        size = rng.exponential(1.0, n)
        x = (
            x
            - np.where(flop, size * self.flop_mean, 0.0)
            + np.where(hit, size * self.hit_mean, 0.0)
        )
        return x - self.median()


def robust_sd(x: np.ndarray) -> float:
    """1.4826 x the median absolute deviation from the median (MODEL.md's robust sd)."""
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def law_quantiles(law: EffectLaw) -> np.ndarray:
    """The centered law's quantiles at `LEVELS`."""
    return np.array([law.quantile(p) for p in LEVELS])


#: Weights of the quantiles in `fit`: the central ones rest on many sessions, p1 and p99 on
#: two or four of 184-453.
WEIGHTS = np.array([0.5, 1.0, 2.0, 2.0, 1.0, 0.5])


def misfit(law: EffectLaw, target: tuple[float, ...]) -> float:
    """Weighted squared distance between the law's quantiles and ``target`` (log scale)."""
    return float(np.sum(WEIGHTS * (law_quantiles(law) - np.asarray(target)) ** 2))


#: Ranges of the fitted parameters: jumps are events of at most 40 % of sessions,
#: a flop at most e^-6 on average, a hit below e^0.45 on average (so that the multiplier has
#: a finite variance: E[exp(2 J)] needs hit_mean < 0.5).
RANGES = {
    "sd": (0.02, 2.0),
    "flop_prob": (0.0, 0.4),
    "flop_mean": (0.05, 6.0),
    "hit_prob": (0.0, 0.4),
    "hit_mean": (0.02, 0.45),
}


def _law(v: np.ndarray) -> EffectLaw:
    """Parameters from an unconstrained vector: each mapped into its `RANGES` by a logistic."""
    values = []
    for x, (lo, hi) in zip(v, RANGES.values(), strict=True):
        values.append(lo + (hi - lo) / (1.0 + math.exp(-max(-50.0, min(50.0, float(x))))))
    return EffectLaw(*values)


def fit(target: tuple[float, ...], iterations: int = 800) -> EffectLaw:
    """The `EffectLaw` whose quantiles at `LEVELS` come closest to ``target`` (Nelder-Mead
    on transformed parameters, from a few starts; deterministic)."""
    best: tuple[float, np.ndarray] | None = None
    for start in ([-2.0, -2.0, -1.0, -2.0, 0.0], [-1.0, -1.0, 0.0, -3.0, -1.0]):
        v, f = _nelder_mead(lambda x: misfit(_law(x), target), np.array(start), iterations)
        if best is None or f < best[0]:
            best = (f, v)
    assert best is not None
    law = _law(best[1])
    return EffectLaw(*(round(getattr(law, k), 4) for k in law.__dataclass_fields__))


def _nelder_mead(
    func: Callable[[np.ndarray], float], x0: np.ndarray, iterations: int, step: float = 0.5
) -> tuple[np.ndarray, float]:
    """Minimise ``func`` from ``x0`` by the Nelder-Mead simplex method (standard
    coefficients: reflection 1, expansion 2, contraction and shrink 1/2)."""
    n = x0.size
    simplex = [x0] + [x0 + step * np.eye(n)[i] for i in range(n)]
    values = [func(x) for x in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        centroid = np.mean(simplex[:-1], axis=0)
        worst = simplex[-1]
        reflected = centroid + (centroid - worst)
        fr = func(reflected)
        if fr < values[0]:
            expanded = centroid + 2.0 * (centroid - worst)
            fe = func(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (worst - centroid)
            fc = func(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                best = simplex[0]
                simplex = [best] + [best + 0.5 * (x - best) for x in simplex[1:]]
                values = [values[0]] + [func(x) for x in simplex[1:]]
        if max(values) - min(values) < 1e-10:
            break
    i = int(np.argmin(values))
    return simplex[i], float(values[i])


#: `fit` of every `WITHIN_HOST` row (800 iterations): the session-effect laws the presets
#: are to use (mega: celebrity; mid, and micro and amateur as a floor: KOL). Misfit on the log
#: scale: 0.03 or less for conversion and KOL stay, 0.10 or less for traffic and celebrity
#: stay and engagement; KOL engagement is off by up to 0.17 at p25 and 0.22 at p99: its
#: sessions have a narrow core and a long upper tail, which a hit of finite variance (mean
#: <= 0.45) cannot give together.
FITTED: dict[tuple[str, str], EffectLaw] = {
    ("celebrity", "traffic"): EffectLaw(0.3242, 0.0085, 5.9999, 0.4, 0.2155),
    ("KOL", "traffic"): EffectLaw(0.3935, 0.4, 0.05, 0.4, 0.45),
    ("celebrity", "conversion"): EffectLaw(0.2654, 0.2797, 0.7362, 0.392, 0.1005),
    ("KOL", "conversion"): EffectLaw(0.282, 0.1388, 3.1994, 0.4, 0.3554),
    ("celebrity", "engagement"): EffectLaw(0.5831, 0.0, 0.05, 0.1472, 0.45),
    ("KOL", "engagement"): EffectLaw(0.4311, 0.4, 0.7006, 0.4, 0.45),
    ("celebrity", "stay"): EffectLaw(0.0425, 0.3708, 0.258, 0.4, 0.1888),
    ("KOL", "stay"): EffectLaw(0.1041, 0.1165, 0.4292, 0.4, 0.1298),
}


@functools.lru_cache(maxsize=4096)
def _raw_quantile(law: EffectLaw, p: float) -> float:
    """`EffectLaw._bisect`, remembered per (law, p): compiling a strategy asks for the same
    quantiles of each host's laws again and again (a plan search compiles thousands of
    strategies of a few hosts). Pure, so a remembered value has the same bits."""
    return law._bisect(p)
