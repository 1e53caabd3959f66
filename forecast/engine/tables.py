"""Kernel output arrays -> polars tables (one row per path and session; one row per path).

Money columns, CNY, per session (and summed per path):

* ``gmv``: paid order value; ``returns``: value refunded for returned orders;
  ``net_sales = gmv - returns``;
* ``commission = commission_rate * net_sales`` (paid on what is kept: for vouchers, on
  verified revenue only);
* ``fees``: the merchant's fixed costs of the session: slot or filming fee plus the cost of a
  free experience (``experience``), paid with a store visit's first episode only;
* ``cost``: unit cost of the units not returned (vouchers: of the verified ones);
* ``profit = net_sales - commission - fees - cost`` (the brand's or merchant's);
* ``gift_value``: virtual gifts sent by viewers;
* the influencer's cash income: ``influencer_commission`` and ``influencer_fees`` (commission
  and slot/filming fee after the agency's ``agency_share``), ``influencer_gifts`` (their
  ``market.gift_share`` of gift value), and ``influencer_income``, their sum; ``agency_income``
  is the agency's share.

Vouchers (counts of units): ``vouchers_sold``, ``vouchers_verified``, ``vouchers_refunded``
(sold, not verified in time: refunded, counted in ``returns``), and ``verified_revenue``.

Per path only: ``roi = profit / (fees + commission)``, the return on influencer spend
(null when nothing was spent, or when a spend near 1e-300 CNY puts the ratio beyond float64).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from forecast.model.entities import Strategy
from kernels import layout as L

SESSION_COUNTS = L.COUNT_NAMES
PATH_COLUMNS = (
    "views",
    "exposures",
    "penalized",
    "saturated",
    "orders",
    "units",
    "returned_orders",
    "likes",
    "comments",
    "gifts",
    "vouchers_sold",
    "vouchers_verified",
    "vouchers_refunded",
    "gmv",
    "returns",
    "net_sales",
    "verified_revenue",
    "commission",
    "fees",
    "experience",
    "cost",
    "profit",
    "influencer_income",
    "agency_income",
    "gift_value",
)

#: Columns of the path table in CNY (every other one is a count, or roi, a ratio).
MONEY_COLUMNS = tuple(
    c for c in PATH_COLUMNS if c not in SESSION_COUNTS and c != "vouchers_refunded"
)


def _per_session(values: list[float], shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, dtype=np.float64)[None, :], shape)


def session_money(strategy: Strategy, money: np.ndarray) -> dict[str, np.ndarray]:
    """Derived money arrays [paths, sessions] from the kernel's money array."""
    sessions = strategy.sessions
    shape = money.shape[:2]
    rate = _per_session([s.influencer.commission_rate for s in sessions], shape)
    # fixed costs are paid with the first episode of a store visit only
    slot = _per_session([s.influencer.slot_fee * s.pays_fees for s in sessions], shape)
    experience = _per_session([s.influencer.experience_cost * s.pays_fees for s in sessions], shape)
    keep = 1.0 - _per_session([s.influencer.agency_share for s in sessions], shape)
    gmv = money[:, :, L.GMV]
    returns = money[:, :, L.RETURNS]
    net = gmv - returns
    commission = net * rate
    fees = slot + experience
    cost = money[:, :, L.COST]
    gifts = money[:, :, L.GIFT_VALUE]
    inf_commission = commission * keep
    inf_fees = slot * keep
    inf_gifts = gifts * strategy.market.gift_share
    return {
        "gmv": gmv,
        "returns": returns,
        "net_sales": net,
        "commission": commission,
        "fees": fees,
        "experience": experience,
        "cost": cost,
        "profit": net - commission - fees - cost,
        "verified_revenue": money[:, :, L.VERIFIED_REVENUE],
        "influencer_commission": inf_commission,
        "influencer_fees": inf_fees,
        "influencer_gifts": inf_gifts,
        "influencer_income": inf_commission + inf_fees + inf_gifts,
        "agency_income": (commission + slot) - (inf_commission + inf_fees),
        "gift_value": gifts,
        "watch_hours": money[:, :, L.WATCH_HOURS],
        "traffic": money[:, :, L.TRAFFIC],
    }


def sessions_table(
    strategy: Strategy, first_path: int, counts: np.ndarray, money: np.ndarray
) -> pl.DataFrame:
    """One row per path and session, paths numbered from ``first_path``."""
    n_paths, n_sessions = counts.shape[:2]
    cols: dict[str, object] = {
        "path": np.repeat(np.arange(first_path, first_path + n_paths, dtype=np.int64), n_sessions),
        "session": np.tile(np.arange(n_sessions, dtype=np.int32), n_paths),
    }
    labels = pl.Series([s.label for s in strategy.sessions], dtype=pl.String)
    idx = cols["session"]
    assert isinstance(idx, np.ndarray)
    cols["label"] = labels.gather(idx)
    cols["influencer"] = pl.Series([s.influencer.name for s in strategy.sessions]).gather(idx)
    cols["tier"] = pl.Series([s.influencer.tier.value for s in strategy.sessions]).gather(idx)
    cols["day"] = np.array([s.day for s in strategy.sessions])[idx]
    for j, name in enumerate(SESSION_COUNTS):
        cols[name] = counts[:, :, j].reshape(-1)
    cols["vouchers_refunded"] = (
        counts[:, :, L.VOUCHERS_SOLD] - counts[:, :, L.VOUCHERS_VERIFIED]
    ).reshape(-1)
    for name, arr in session_money(strategy, money).items():
        cols[name] = np.ascontiguousarray(arr).reshape(-1)
    return pl.DataFrame(cols)


#: Columns of `Forecast.session_summary`: the mean of each over paths, per session.
SUMMARY_COLUMNS = (
    *SESSION_COUNTS[: L.UNITS + 1],  # views, exposures, penalized, saturated, orders, units
    "gmv",
    "net_sales",
    "commission",
    "fees",
    "profit",
)


def session_totals(strategy: Strategy, counts: np.ndarray, money: np.ndarray) -> np.ndarray:
    """Sums over paths of each `SUMMARY_COLUMNS` outcome, float64[sessions, columns]."""
    names = dict(zip(SESSION_COUNTS, range(len(SESSION_COUNTS)), strict=True))
    derived = session_money(strategy, money)
    out = np.empty((counts.shape[1], len(SUMMARY_COLUMNS)))
    for j, name in enumerate(SUMMARY_COLUMNS):
        if name in names:
            out[:, j] = counts[:, :, names[name]].sum(axis=0)
        else:
            out[:, j] = derived[name].sum(axis=0)
    return out


def session_means_table(strategy: Strategy, totals: np.ndarray, n_paths: int) -> pl.DataFrame:
    """One row per session: its label, tier and day, and the mean of each `SUMMARY_COLUMNS`
    outcome over ``n_paths`` paths from their ``totals`` (`session_totals`)."""
    sessions = strategy.sessions
    cols: dict[str, object] = {
        "session": np.arange(len(sessions), dtype=np.int32),
        "label": [s.label for s in sessions],
        "tier": [s.influencer.tier.value for s in sessions],
        "day": np.array([s.day for s in sessions]),
    }
    for j, name in enumerate(SUMMARY_COLUMNS):
        cols[name] = totals[:, j] / n_paths
    return pl.DataFrame(cols)


def paths_table(
    strategy: Strategy, first_path: int, counts: np.ndarray, money: np.ndarray
) -> pl.DataFrame:
    """One row per path: counts and money summed over sessions (in session order), and roi."""
    n_paths = counts.shape[0]
    cols: dict[str, object] = {"path": np.arange(first_path, first_path + n_paths, dtype=np.int64)}
    names = dict(zip(SESSION_COUNTS, range(len(SESSION_COUNTS)), strict=True))
    derived = session_money(strategy, money)
    for name in PATH_COLUMNS:
        if name in names:
            cols[name] = counts[:, :, names[name]].sum(axis=1)
        elif name == "vouchers_refunded":
            refunded = counts[:, :, L.VOUCHERS_SOLD] - counts[:, :, L.VOUCHERS_VERIFIED]
            cols[name] = refunded.sum(axis=1)
        else:
            cols[name] = derived[name].sum(axis=1)
    spend = np.asarray(cols["fees"]) + np.asarray(cols["commission"])
    profit = np.asarray(cols["profit"])
    spent = spend > 0
    with np.errstate(over="ignore"):  # a subnormal spend: the ratio leaves float64
        roi = np.divide(profit, spend, out=np.zeros_like(profit), where=spent)
    spent &= np.isfinite(roi)
    # null: no spend, or a spend so small (below about 1e-300 CNY) that the ratio is not a number
    cols["roi"] = pl.Series("roi", roi).scatter(np.flatnonzero(~spent), None)
    return pl.DataFrame(cols)
