"""Evaluating candidate plans on common random numbers: every candidate of a batch runs the
same paths of the same seed on one backend, and comes back as an `Evaluation` (its score, the
Monte Carlo error, and what a paired comparison with another candidate on the same paths
needs)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

from forecast.analysis.objective import Objective
from forecast.analysis.plan_space import Plan, PlanSpace
from forecast.engine.backends import Backend
from forecast.engine.prepare import Prepared, prepare
from forecast.model import validation as v

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

#: Batches a path table is cut into for the Monte Carlo error of a figure that has no
#: per-path terms (a function objective, VaR): batch means.
BATCHES = 20

#: Compiled strategies an `Evaluator` keeps (the most recently used; a few MB at most).
KEEP_PREPARED = 512

#: CVaR level of the risk figure every candidate carries (the frontier's axis).
RISK_LEVEL = 0.95


@dataclass
class Evaluation:
    """One candidate on ``paths`` paths of ``seed``: ``score`` (higher is better) with its
    standard error ``se``; ``terms``: per-path terms (or, for a function objective, per-batch
    scores) for paired differences; the money figures every candidate reports."""

    paths: int
    seed: int
    score: float
    se: float
    terms: np.ndarray
    mean_profit: float
    mean_profit_se: float
    mean_net_sales: float
    cvar95: float
    p_loss: float
    p_loss_se: float
    profit: np.ndarray | None = None
    session_net: np.ndarray | None = None
    """[paths, sessions] net sales of each session (CNY), when asked for."""

    def diff(self, other: Evaluation) -> tuple[float, float]:
        """(mean, standard error) of self - other on the same paths (paired)."""
        if other.paths != self.paths or other.seed != self.seed:
            raise ValueError("paired differences need the same paths of the same seed")
        d = self.terms - other.terms  # per path, or per batch for a function objective
        mean = self.score - other.score
        se = float(d.std(ddof=1)) / math.sqrt(d.size) if d.size > 1 else math.nan
        return mean, se

    def p_beats(self, other: Evaluation) -> float:
        """P(this candidate's objective is better than ``other``'s): the normal probability
        of a positive paired difference of scores given its standard error (flat prior)."""
        mean, se = self.diff(other)
        if not se > 0.0:
            return 0.5 if mean == 0.0 else float(mean > 0.0)
        return NormalDist().cdf(mean / se)


def batch_values(
    table: pl.DataFrame, measure: Callable[[pl.DataFrame], float], batches: int = BATCHES
) -> np.ndarray:
    """``measure`` of each of ``batches`` contiguous, near-equal slices of the path table
    (batch means: the Monte Carlo error of a figure with no per-path terms)."""
    import numpy as np

    n = table.height
    edges = np.linspace(0, n, min(batches, n) + 1).astype(np.int64)
    return np.array(
        [measure(table.slice(int(a), int(b - a))) for a, b in itertools.pairwise(edges)]
    )


def batch_error(values: np.ndarray) -> float:
    """Standard error of the whole table's figure from its `batch_values`."""
    import numpy as np

    b = values.size
    return float(np.std(values, ddof=1)) / math.sqrt(b) if b > 1 else math.nan


def evaluation_of(
    table: pl.DataFrame,
    objective: Objective,
    seed: int,
    *,
    keep_profit: bool = False,
    session_net: np.ndarray | None = None,
) -> Evaluation:
    """The `Evaluation` of one candidate's path table."""

    from forecast.results.summary import tail_risk

    profit = table["profit"].to_numpy()
    net = table["net_sales"].to_numpy()
    n = profit.size
    root = math.sqrt(n)
    if objective.has_pseudo:
        terms = objective.pseudo(profit, net)
        score = float(terms.mean())
        se = float(terms.std(ddof=1)) / root if n > 1 else math.nan
    else:
        score = objective.score(table)
        terms = batch_values(table, objective.score)
        se = batch_error(terms)
    p_loss = float((profit < 0).mean())
    return Evaluation(
        paths=n,
        seed=seed,
        score=score,
        se=se,
        terms=terms,
        mean_profit=float(profit.mean()),
        mean_profit_se=float(profit.std(ddof=1)) / root if n > 1 else math.nan,
        mean_net_sales=float(net.mean()),
        cvar95=tail_risk(profit, RISK_LEVEL)[1],
        p_loss=p_loss,
        p_loss_se=math.sqrt(p_loss * (1 - p_loss) / n),
        profit=profit if keep_profit else None,
        session_net=session_net,
    )


class Evaluator:
    """Runs plans of ``space`` on ``backend`` with the kernel ``method`` ("cohort" or
    "viewer"), one kernel for all so that their paths pair. Strategies are compiled once
    each (the engine remembers each session's integrals across them)."""

    def __init__(
        self,
        space: PlanSpace,
        objective: Objective,
        backend: Backend,
        method: str,
        on_eval: Callable[[int], None] | None = None,
    ) -> None:
        self.space, self.objective, self.backend, self.method = space, objective, backend, method
        self.on_eval = on_eval
        self.runs = 0
        self.paths_run = 0
        self._prepared: dict[str, Prepared] = {}

    def prepared(self, plan: Plan) -> Prepared:
        """The compiled strategy of ``plan`` (kept while the search runs)."""
        key = plan.key
        if key in self._prepared:
            self._prepared[key] = self._prepared.pop(key)  # most recently used last
        else:
            while len(self._prepared) >= KEEP_PREPARED:
                del self._prepared[next(iter(self._prepared))]
            strategy = self.space.strategy(plan, name=_strategy_name(self.space, plan))
            try:
                self._prepared[key] = prepare(strategy, self.method)
            except ValueError as err:
                raise v.fail(
                    f"plan space {self.space.name!r}",
                    "plan",
                    plan.key,
                    f"cannot be simulated: {err}",
                ) from None
        return self._prepared[key]

    def forget(self, keep: Sequence[Plan]) -> None:
        """Drop the compiled strategies of every plan but ``keep``."""
        keys = {p.key for p in keep}
        self._prepared = {k: p for k, p in self._prepared.items() if k in keys}

    def run(
        self,
        plans: Sequence[Plan],
        paths: int,
        seed: int,
        *,
        keep_profit: bool = False,
        session_net: bool = False,
    ) -> list[Evaluation]:
        """Evaluate ``plans`` on paths 0 .. ``paths`` - 1 of ``seed`` (all submitted at once,
        so a cluster runs them side by side)."""
        preps = [self.prepared(p) for p in plans]
        done: list[Evaluation | None] = [None] * len(preps)

        def finished(i: int, table: pl.DataFrame, net: np.ndarray | None) -> None:
            done[i] = evaluation_of(
                table, self.objective, seed, keep_profit=keep_profit, session_net=net
            )
            self.runs += 1
            self.paths_run += paths
            if self.on_eval is not None:
                self.on_eval(1)

        run_batch(preps, paths, seed, self.backend, finished, session_net=session_net)
        return [d for d in done if d is not None]


def run_batch(
    preps: Sequence[Prepared],
    paths: int,
    seed: int,
    backend: Backend,
    on_table: Callable[[int, pl.DataFrame, np.ndarray | None], None],
    *,
    session_net: bool = False,
) -> None:
    """Run paths 0 .. ``paths`` - 1 of ``seed`` of every prepared strategy, all submitted at
    once (so a cluster runs them side by side; here they run one after another), checked
    first (`check_cost`); ``on_table(i, path table, session net sales or None)`` as each one
    finishes, after which its results are let go."""
    import numpy as np
    import polars as pl

    from forecast.engine.backends import LocalBackend
    from forecast.engine.prepare import check_cost, run_threads

    threads = run_threads(backend.threads) if isinstance(backend, LocalBackend) else 1
    for prep in preps:
        check_cost(prep, paths, threads=threads, keep_sessions=False)
    jobs = [
        backend.submit(prep, seed, paths, keep_sessions=False, session_net=session_net)
        for prep in preps
    ]

    def finished(i: int) -> None:
        parts = jobs[i].parts()
        table = pl.concat([p.paths for p in parts])
        net = np.concatenate([p.net for p in parts if p.net is not None]) if session_net else None
        jobs[i].release()
        on_table(i, table, net)

    backend.gather(jobs, None, finished)


def _strategy_name(space: PlanSpace, plan: Plan) -> str:
    return f"{space.name}: {plan.describe()}"


__all__ = [
    "BATCHES",
    "Evaluation",
    "Evaluator",
    "batch_error",
    "batch_values",
    "evaluation_of",
    "run_batch",
]
