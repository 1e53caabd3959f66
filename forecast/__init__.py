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
    from forecast.analysis.objective import Objective
    from forecast.analysis.optimize import Optimization, OptimizationInterrupted, optimize
    from forecast.analysis.plan_space import Plan, PlanSpace, load_space, space_from_dict
    from forecast.analysis.sensitivity import Sensitivity, sensitivity
    from forecast.reporting.optimize_page import write as write_optimization
    from forecast.reporting.sensitivity_page import write as write_sensitivity

__version__ = "0.1.0"

#: Names loaded on first use (they need numpy, polars and scipy, which `import forecast`
#: does not load).
_LAZY = {
    "Calibration": "forecast.analysis.calibrate",
    "calibrate": "forecast.analysis.calibrate",
    "load_calibration": "forecast.analysis.calibrate",
    "HistoryError": "forecast.analysis.history",
    "Objective": "forecast.analysis.objective",
    "Optimization": "forecast.analysis.optimize",
    "OptimizationInterrupted": "forecast.analysis.optimize",
    "optimize": "forecast.analysis.optimize",
    "Plan": "forecast.analysis.plan_space",
    "PlanSpace": "forecast.analysis.plan_space",
    "load_space": "forecast.analysis.plan_space",
    "space_from_dict": "forecast.analysis.plan_space",
    "write_optimization": "forecast.reporting.optimize_page:write",
    "Sensitivity": "forecast.analysis.sensitivity",
    "sensitivity": "forecast.analysis.sensitivity",
    "write_sensitivity": "forecast.reporting.sensitivity_page:write",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, _, attr = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attr or name)
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
    "Objective",
    "Optimization",
    "OptimizationInterrupted",
    "Plan",
    "PlanSpace",
    "Portfolio",
    "PortfolioError",
    "Product",
    "Report",
    "ReportInterrupted",
    "Sensitivity",
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
    "load_space",
    "optimize",
    "read_parquet",
    "report",
    "run",
    "sensitivity",
    "space_from_dict",
    "strategy_from_dict",
    "strategy_to_dict",
    "write_optimization",
    "write_sensitivity",
]
