"""The law of session effects (`forecast.model.spread`): its CDF, median and quantiles agree
with draws, its mean multiplier with its closed form, and the fitted laws reproduce the real
within-host figures of MODEL.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecast.model import spread as S
from tests.stats import Z, dkw_bound

LAWS = [
    S.EffectLaw(),
    S.EffectLaw(sd=0.3),
    S.EffectLaw(sd=0.0, flop_prob=0.2, flop_mean=1.5),
    S.EffectLaw(sd=0.3, flop_prob=0.14, flop_mean=3.2, hit_prob=0.25, hit_mean=0.39),
    *S.FITTED.values(),
]


@pytest.mark.parametrize("law", LAWS, ids=str)
def test_cdf_matches_draws(law: S.EffectLaw) -> None:
    """The centered law's CDF against 20,000 draws at every MODEL level: within the DKW
    bound, false failure 1e-6 per law (the sup of |F_n - F| over all x at once)."""
    n = 20_000
    x = law.sample(np.random.default_rng(7), n)
    med = law.median()
    bound = dkw_bound(n, 1e-6)
    for p in S.LEVELS:
        q = law.quantile(p)
        assert abs(np.mean(x <= q) - law.raw_cdf(q + med)) <= bound
        if law.sd > 0:  # a continuous law: the quantile inverts the CDF
            assert abs(law.raw_cdf(q + med) - p) < 1e-9


@pytest.mark.parametrize("law", LAWS, ids=str)
def test_median_is_zero_and_mean_multiplier_closed_form(law: S.EffectLaw) -> None:
    """Centered at its median; E[exp(X)] against 200,000 draws within 5 sd of the mean
    (hit_mean <= 0.45 keeps the variance of exp(X) finite)."""
    assert law.quantile(0.5) == pytest.approx(0.0, abs=1e-9)
    n = 200_000
    m = np.exp(law.sample(np.random.default_rng(11), n))
    assert abs(m.mean() - law.mean_multiplier()) <= max(Z * m.std() / math.sqrt(n), 1e-12)


@pytest.mark.parametrize("key", sorted(S.WITHIN_HOST))
def test_fitted_laws_reproduce_model_md(key: tuple[str, str]) -> None:
    """Each fitted law's quantiles against MODEL.md's within-host table: within 0.10 (log
    scale) at p25 and p75, 0.15 at p5 and p95, 0.25 at p1 and p99 (these rest on 2-9 of
    184-453 sessions), except KOL engagement, held to its known misfit (0.20 everywhere,
    0.25 at p99; see `FITTED`). No sampling, so no false failure."""
    got = S.law_quantiles(S.FITTED[key])
    want = np.asarray(S.WITHIN_HOST[key])
    tolerance = np.array([0.25, 0.15, 0.10, 0.10, 0.15, 0.25])
    if key == ("KOL", "engagement"):
        tolerance = np.array([0.20, 0.20, 0.20, 0.20, 0.20, 0.25])
    assert np.all(np.abs(got - want) <= tolerance), (got.round(2), want)


@pytest.mark.slow
def test_fit_is_deterministic_and_gives_the_stored_law() -> None:
    """`fit` of the celebrity conversion row reproduces `FITTED` (to its rounding)."""
    key = ("celebrity", "conversion")
    law = S.fit(S.WITHIN_HOST[key])
    stored = S.FITTED[key]
    for name in ("sd", "flop_prob", "flop_mean", "hit_prob", "hit_mean"):
        assert getattr(law, name) == pytest.approx(getattr(stored, name), abs=2e-3)
