"""Engagement of one session from its arrival count, shared by both kernels.

Every arrival is credited the session's expected stay (``SF_MEAN_STAY``, from the watch-time
law and the arrival profile); likes, comments and gifts are Poisson in the watch hours so
credited, and gift values are gamma, so the value of any number of gifts is one gamma draw.
That makes engagement a function of the arrival count alone, which is what lets the cohort
kernel reproduce it exactly.
"""

from __future__ import annotations

import numpy as np

from kernels import layout as L
from kernels.options import jit
from kernels.rng import derive
from kernels.samplers import gamma, poisson


@jit
def engagement(
    s: np.int64,
    skey: np.uint64,
    sf: np.ndarray,
    views: np.int64,
    mean_stay: float,
    lift: float,
    counts: np.ndarray,
    money: np.ndarray,
) -> None:
    """Write watch hours, likes, comments, gifts and gift value of session ``s`` with
    ``views`` arrivals, ``mean_stay`` hours each (the session's stay node), its engagement
    multiplier ``lift``, into ``counts[s]`` / ``money[s]``."""
    watch = views * mean_stay
    counts[s, L.LIKES] = poisson(derive(skey, L.P_LIKES), sf[s, L.SF_LIKE_RATE] * watch * lift)
    counts[s, L.COMMENTS] = poisson(
        derive(skey, L.P_COMMENTS), sf[s, L.SF_COMMENT_RATE] * watch * lift
    )
    gifts = poisson(derive(skey, L.P_GIFTS), sf[s, L.SF_GIFT_RATE] * watch * lift)
    counts[s, L.GIFTS] = gifts
    mean = sf[s, L.SF_GIFT_MEAN]
    cv2 = sf[s, L.SF_GIFT_CV2]
    if cv2 > 0.0:
        value = gamma(derive(skey, L.P_GIFT_VALUE), gifts / cv2) * mean * cv2
    else:
        value = gifts * mean
    money[s, L.GIFT_VALUE] = value
    money[s, L.WATCH_HOURS] = watch
