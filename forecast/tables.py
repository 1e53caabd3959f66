"""Kernel output arrays -> polars tables (one row per path and session; one row per path).

Money columns, CNY, per session (and summed per path):

* ``gmv``: paid order value; ``returns``: value refunded for returned orders;
  ``net_sales = gmv - returns``;
* ``commission = commission_rate * net_sales`` (paid on what is kept);
* ``fees``: the session's slot fee; ``cost``: unit cost of the units not returned;
* ``profit = net_sales - commission - fees - cost`` (the brand's);
* ``influencer_income = fees + commission``; ``gift_value``: virtual gifts sent by viewers.

Per path only: ``roi = profit / (fees + commission)``, the return on influencer spend
(null when nothing was spent).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from forecast.model import Strategy
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
    "gmv",
    "returns",
    "net_sales",
    "commission",
    "fees",
    "cost",
    "profit",
    "influencer_income",
    "gift_value",
)


def session_money(strategy: Strategy, money: np.ndarray) -> dict[str, np.ndarray]:
    """Derived money arrays [paths, sessions] from the kernel's money array."""
    rate = np.array([s.influencer.commission_rate for s in strategy.sessions])
    fee = np.array([s.influencer.slot_fee for s in strategy.sessions])
    gmv = money[:, :, L.GMV]
    returns = money[:, :, L.RETURNS]
    net = gmv - returns
    commission = net * rate[None, :]
    fees = np.broadcast_to(fee[None, :], net.shape)
    cost = money[:, :, L.COST]
    return {
        "gmv": gmv,
        "returns": returns,
        "net_sales": net,
        "commission": commission,
        "fees": fees,
        "cost": cost,
        "profit": net - commission - fees - cost,
        "influencer_income": fees + commission,
        "gift_value": money[:, :, L.GIFT_VALUE],
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
    for name, arr in session_money(strategy, money).items():
        cols[name] = np.ascontiguousarray(arr).reshape(-1)
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
        else:
            cols[name] = derived[name].sum(axis=1)
    frame = pl.DataFrame(cols)
    spend = pl.col("fees") + pl.col("commission")
    return frame.with_columns(
        pl.when(spend > 0).then(pl.col("profit") / spend).otherwise(None).alias("roi")
    )
