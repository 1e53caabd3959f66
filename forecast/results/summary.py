"""Distribution summaries of per-path outcomes.

Sign conventions (profit is the brand's: net sales - commission - fees - cost, CNY):

* ``var95``: value at risk at 95 %: the loss that is exceeded on at most 5 % of paths,
  ``-q`` where ``q`` is the k-th smallest profit, k = ceil(0.05 n). Positive: a loss of that
  size; negative: even the worst 5 % of paths make at least that profit.
* ``cvar95``: conditional value at risk: minus the mean of the k smallest profits (the
  expected loss in the worst 5 %). Always >= ``var95``.
* ``p_loss``: share of paths with profit < 0; ``p_loss_mcse``: its Monte Carlo standard error.
* ``mcse``: Monte Carlo standard error of the mean, sd / sqrt(n).
* ``p5 .. p95``: quantiles with linear interpolation between order statistics.

Rows with a null value (``roi`` when nothing was spent) are left out of that metric's figures;
``n`` counts what remained.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from forecast.results.risk import RISK_LEVEL, level_label, risk_columns

if TYPE_CHECKING:  # imported where used: this module's names are read at `import forecast`
    import numpy as np
    import polars as pl

QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
DEFAULT_METRICS = (
    "views",
    "orders",
    "units",
    "gmv",
    "returns",
    "net_sales",
    "fees",
    "commission",
    "cost",
    "profit",
    "roi",
)


def tail_risk(values: np.ndarray, level: float = RISK_LEVEL) -> tuple[float, float]:
    """(VaR, CVaR) at ``level`` of outcomes ``values`` (losses positive), by the definitions
    in this module's docstring."""
    import numpy as np

    n = values.size
    k = max(1, math.ceil((1.0 - level) * n - 1e-9))
    worst = np.partition(values, k - 1)[:k]
    return float(-worst.max()), float(-worst.mean())


def summarize(
    frame: pl.DataFrame,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    levels: tuple[float, ...] = (RISK_LEVEL,),
) -> pl.DataFrame:
    """One row per metric of ``frame``'s columns: n, mean, sd, mcse, quantiles, and for
    ``profit`` the tail risk at each of ``levels`` (``var95``, ``cvar95`` for 0.95, see
    `level_label`), p_loss and p_loss_mcse (null for other metrics)."""
    import numpy as np
    import polars as pl

    rows = []
    for name in metrics:
        col = frame.get_column(name).drop_nulls().cast(pl.Float64).to_numpy()
        n = col.size
        row: dict[str, object] = {"metric": name, "n": n}
        if n == 0:
            rows.append(row)
            continue
        sd = float(col.std(ddof=1)) if n > 1 else None  # null, never NaN, from one path
        row.update(mean=float(col.mean()), sd=sd, mcse=None if sd is None else sd / math.sqrt(n))
        for q, value in zip(QUANTILES, np.quantile(col, QUANTILES), strict=True):
            row[f"p{round(q * 100)}"] = float(value)
        if name == "profit":
            for level in levels:
                var, cvar = tail_risk(col, level)
                row[f"var{level_label(level)}"] = var
                row[f"cvar{level_label(level)}"] = cvar
            p_loss = float((col < 0).mean())
            row.update(p_loss=p_loss, p_loss_mcse=math.sqrt(p_loss * (1 - p_loss) / n))
        rows.append(row)
    schema: dict[str, type[pl.DataType] | pl.DataType] = {"metric": pl.String, "n": pl.Int64}
    for c in (
        "mean",
        "sd",
        "mcse",
        *(f"p{round(q * 100)}" for q in QUANTILES),
        *risk_columns(levels),
    ):
        schema[c] = pl.Float64
    return pl.DataFrame(rows, schema=schema)
