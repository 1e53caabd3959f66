"""forecast: Monte Carlo forecasts of livestream-commerce influencer campaigns.

>>> import forecast as fc
>>> serum = fc.Product("serum", list_price=199, unit_cost=40, category="beauty", discount=0.2)
>>> star = fc.Influencer.preset("mega", "star")
>>> plan = fc.Strategy([fc.Session(star, [serum], day=0)])
>>> result = fc.run(plan, paths=1000, seed=1)        # doctest: +SKIP
>>> result.summary()                                 # doctest: +SKIP

Nothing is compiled at import; the numba kernels load on the first run (cached on disk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forecast.analysis.compare import Comparison, compare
from forecast.engine.cluster import DaskBackend
from forecast.engine.prepare import cohort_reasons
from forecast.engine.run import read_parquet, run
from forecast.model.entities import (
    DEFAULT_SESSION_HOURS,
    Influencer,
    MarketParams,
    Product,
    Session,
    Strategy,
    TierValues,
)
from forecast.model.enums import Tier
from forecast.model.strategy_file import (
    StrategyFileError,
    load,
    strategy_from_dict,
    strategy_to_dict,
)
from forecast.reporting.builder import Report, ReportInterrupted, report
from forecast.reporting.portfolio import Campaign, Portfolio, PortfolioError, load_portfolio
from forecast.results.result import Forecast

if TYPE_CHECKING:
    from forecast.analysis.calibrate import Calibration, calibrate, load_calibration
    from forecast.analysis.history import HistoryError

__version__ = "0.1.0"

#: Names loaded on first use (they need numpy, polars and scipy, which `import forecast`
#: does not load).
_LAZY = {
    "Calibration": "forecast.analysis.calibrate",
    "calibrate": "forecast.analysis.calibrate",
    "load_calibration": "forecast.analysis.calibrate",
    "HistoryError": "forecast.analysis.history",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")


__all__ = [
    "DEFAULT_SESSION_HOURS",
    "Calibration",
    "Campaign",
    "Comparison",
    "DaskBackend",
    "Forecast",
    "HistoryError",
    "Influencer",
    "MarketParams",
    "Portfolio",
    "PortfolioError",
    "Product",
    "Report",
    "ReportInterrupted",
    "Session",
    "Strategy",
    "StrategyFileError",
    "Tier",
    "TierValues",
    "__version__",
    "calibrate",
    "cohort_reasons",
    "compare",
    "load",
    "load_calibration",
    "load_portfolio",
    "read_parquet",
    "report",
    "run",
    "strategy_from_dict",
    "strategy_to_dict",
]
