"""What a plan search maximizes: an `Objective` of a candidate's path table.

Named objectives (money in CNY, profit the brand's):

* ``mean_profit``, ``mean_net_sales``: the mean over paths (higher is better);
* ``cvarNN`` (``cvar95``, ``cvar90``, ``cvar99.5``): CVaR of profit at level NN % as
  `forecast.results.summary` defines it, minus the mean of the worst (100 - NN) % of
  profits: the expected loss in that tail (lower is better);
* ``mean_cvarNN``: mean profit - ``weight`` x CVaR at NN % (higher is better), a mean-risk
  trade-off; ``weight = 0`` is mean profit alone;
* a Python function of the path table (polars, one row per path) returning a number (higher
  is better).

Every candidate is scored as a number where higher is better (`Objective.score`: minus the
CVaR for ``cvarNN``). For the named objectives the score is the mean of per-path
*pseudo-values* (`Objective.pseudo`): the profit itself for a mean, and for CVaR the
Rockafellar-Uryasev terms ``VaR + max(loss - VaR, 0) / (1 - level)``, whose mean is exactly
the CVaR estimate and whose paired differences between two candidates on common random
numbers give the standard error of the difference of their objectives (the influence
function of CVaR). A function objective has no such terms; its errors are bootstrapped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from forecast.model import validation as v
from forecast.results.summary import tail_risk

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

_CVAR = re.compile(r"^(mean_)?cvar(\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class Objective:
    """What to maximize. Build with `Objective.parse` (a name or a function) or directly:
    ``kind`` one of "mean_profit", "mean_net_sales", "cvar", "mean_cvar", "function";
    ``level`` the CVaR level (fraction, in [0.5, 0.999]); ``weight`` the CVaR weight of
    "mean_cvar" (>= 0); ``function`` the function of a path table for "function"."""

    kind: str
    level: float = 0.95
    weight: float = 0.5
    function: Callable[[pl.DataFrame], float] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        kinds = ("mean_profit", "mean_net_sales", "cvar", "mean_cvar", "function")
        if self.kind not in kinds:
            raise v.fail("objective", "kind", self.kind, f"must be one of {', '.join(kinds)}")
        v.in_range("objective", "level", self.level, 0.5, 0.999)
        v.in_range("objective", "weight", self.weight, 0, 1000)
        if (self.kind == "function") != callable(self.function):
            raise v.fail(
                "objective",
                "function",
                self.function,
                "a function of the path table is needed for kind 'function', and only there",
            )

    @classmethod
    def parse(cls, spec: Any, weight: float | None = None) -> Objective:
        """An objective from a name (``mean_profit``, ``mean_net_sales``, ``cvarNN`` or
        ``mean_cvarNN`` at any level NN in [50, 99.9]), a function of the path table, or an
        `Objective`; ``weight``: the CVaR weight of a ``mean_cvarNN`` (default 0.5)."""
        if isinstance(spec, Objective):
            return spec
        if callable(spec):
            return cls("function", function=spec)
        allowed = (
            "mean_profit, mean_net_sales, cvarNN (CVaR of profit at NN %, e.g. cvar95), "
            "mean_cvarNN (mean profit - weight x CVaR) or a function of the path table"
        )
        if not isinstance(spec, str):
            raise v.fail("optimize", "objective", spec, f"must be one of {allowed}")
        if spec in ("mean_profit", "mean_net_sales"):
            return cls(spec)
        m = _CVAR.match(spec)
        if m is None or not 50 <= float(m.group(2)) <= 99.9:
            raise v.fail("optimize", "objective", spec, f"must be one of {allowed}")
        kind = "mean_cvar" if m.group(1) else "cvar"
        w = 0.5 if weight is None else v.in_range("optimize", "cvar_weight", weight, 0, 1000)
        return cls(kind, level=float(m.group(2)) / 100.0, weight=w)

    @property
    def label(self) -> str:
        """A short name: ``mean_profit``, ``cvar95``, ``mean_cvar95(w=0.5)``, the function's."""
        pct = f"{self.level * 100:g}"
        if self.kind == "cvar":
            return f"cvar{pct}"
        if self.kind == "mean_cvar":
            return f"mean_cvar{pct}(w={self.weight:g})"
        if self.kind == "function":
            return str(getattr(self.function, "__name__", "custom"))
        return self.kind

    @property
    def maximize(self) -> bool:
        """Whether the objective's own value is better higher (CVaR is better lower)."""
        return self.kind != "cvar"

    @property
    def has_pseudo(self) -> bool:
        """Whether per-path pseudo-values exist (every kind but a function)."""
        return self.kind != "function"

    def describe(self) -> str:
        """One phrase for people: what is maximized or minimized."""
        pct = f"{self.level * 100:g}"
        return {
            "mean_profit": "maximize mean profit",
            "mean_net_sales": "maximize mean net sales",
            "cvar": f"minimize CVaR{pct} of profit (the expected loss in the worst "
            f"{100 - self.level * 100:g} %)",
            "mean_cvar": f"maximize mean profit - {self.weight:g} x CVaR{pct} of profit",
        }.get(self.kind, f"maximize {self.label}(path table)")

    def pseudo(self, profit: np.ndarray, net_sales: np.ndarray) -> np.ndarray:
        """Per-path terms whose mean is the score (higher is better); see the module."""
        import numpy as np

        if self.kind == "mean_profit":
            return np.asarray(profit, dtype=np.float64)
        if self.kind == "mean_net_sales":
            return np.asarray(net_sales, dtype=np.float64)
        if self.kind == "function":
            raise ValueError("a function objective has no per-path terms")
        cvar = cvar_terms(profit, self.level)
        if self.kind == "cvar":
            return -cvar
        return np.asarray(profit, dtype=np.float64) - self.weight * cvar

    def score(self, table: pl.DataFrame) -> float:
        """The score of a path table (higher is better)."""
        if self.kind == "function":
            assert self.function is not None
            value = self.function(table)
            try:
                out = float(value)
            except (TypeError, ValueError):
                raise v.fail(
                    "objective", self.label, value, "the function must return a number"
                ) from None
            if not math.isfinite(out):
                raise v.fail(
                    "objective", self.label, out, "the function must return a finite number"
                )
            return out
        return float(self.pseudo(table["profit"].to_numpy(), table["net_sales"].to_numpy()).mean())

    def value(self, score: float) -> float:
        """The objective's own value from a score (CVaR: the loss, positive)."""
        return score if self.maximize else -score


def cvar_terms(profit: np.ndarray, level: float) -> np.ndarray:
    """Rockafellar-Uryasev terms of CVaR at ``level``: VaR + max(loss - VaR, 0) n / k with
    k = ceil((1 - level) n) the paths in the tail; their mean is `tail_risk`'s CVaR exactly
    (the k worst losses are all those above VaR, and any others equal it)."""
    import numpy as np

    p = np.asarray(profit, dtype=np.float64)
    n = p.size
    var, _ = tail_risk(p, level)
    k = max(1, math.ceil((1.0 - level) * n - 1e-9))
    return var + np.maximum(-p - var, 0.0) * (n / k)


__all__ = ["Objective", "cvar_terms"]
