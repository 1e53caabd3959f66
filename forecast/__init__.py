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

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SESSION_HOURS",
    "Campaign",
    "Comparison",
    "DaskBackend",
    "Forecast",
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
    "cohort_reasons",
    "compare",
    "load",
    "load_portfolio",
    "read_parquet",
    "report",
    "run",
    "strategy_from_dict",
    "strategy_to_dict",
]
