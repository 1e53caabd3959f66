"""Preparing a strategy for the kernels: compile it, plan the cohort kernel, choose which
kernel runs (`prepare`), before anything is simulated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.model import validation as v
from forecast.model.entities import Strategy

if TYPE_CHECKING:
    from forecast.engine.cohort_plan import CohortPlan
    from forecast.engine.compile import Compiled

#: Kernel choices of `run`: "auto" takes the cohort kernel whenever it is exact for the
#: strategy, the per-viewer kernel otherwise.
METHODS = ("auto", "viewer", "cohort")


def resolve_strategy(strategy: Strategy | str | Path) -> Strategy:
    """A Strategy, or one loaded from a strategy file path."""
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, str | Path):
        from forecast.model.strategy_file import load

        return load(strategy)
    raise v.fail("run", "strategy", strategy, "must be a Strategy or a strategy file path")


def check_method(method: Any) -> str:
    """``method`` checked against `METHODS`."""
    if method not in METHODS:
        raise v.fail("run", "method", method, f"must be one of {', '.join(METHODS)}")
    return str(method)


@dataclass(frozen=True)
class Prepared:
    """A strategy compiled for the kernels, with the kernel that will run it (checked)."""

    strategy: Strategy
    compiled: Compiled
    plan: CohortPlan | None
    method: str
    """The kernel that runs: "cohort" or "viewer"."""
    requested: str


def prepare(strat: Strategy, requested: str) -> Prepared:
    """Compile ``strat`` and choose its kernel for ``requested`` ("auto", "cohort" or
    "viewer"); raises the error `run` would raise (cohort not exact, audiences too large for
    the per-viewer kernel) before anything is simulated."""
    from forecast.engine.compile import compile_strategy

    compiled = compile_strategy(strat)
    plan = None
    if requested != "viewer":
        from forecast.engine.cohort_plan import plan_cohort

        plan = plan_cohort(strat, compiled)
        if requested == "cohort" and not plan.exact:
            raise v.fail(
                "run",
                "method",
                "cohort",
                f"the cohort kernel is not exact for strategy {strat.name!r}: "
                f"{plan.reasons[0]}; use "
                "method='viewer', or 'auto', which falls back to it",
            )
    chosen = "cohort" if plan is not None and plan.exact else "viewer"
    if chosen == "viewer":
        compiled.check_viewer_memory(strat.name)
    return Prepared(strat, compiled, plan, chosen, requested)


def cohort_reasons(strategy: Strategy | str | Path) -> tuple[str, ...]:
    """Why the cohort kernel would not be exact for ``strategy``; empty when it is (then
    ``method="auto"`` runs it)."""
    from forecast.engine.cohort_plan import plan_cohort
    from forecast.engine.compile import compile_strategy

    strat = resolve_strategy(strategy)
    return plan_cohort(strat, compile_strategy(strat)).reasons


def run_threads(backend_threads: int | None) -> int:
    """The numba threads a local run will use: ``backend_threads``, else all of this one's."""
    if backend_threads is not None:
        return backend_threads
    import numba

    return int(numba.get_num_threads())


def check_cost(prep: Prepared, n: int, *, threads: int, keep_sessions: bool) -> float:
    """Refuse, before anything runs, a run of ``n`` paths of ``prep`` beyond reason: the
    per-viewer kernel's work (expected arrivals, `limits.MAX_VIEWER_ARRIVALS`) and carried
    state on ``threads`` threads, and the memory of its tables (`limits.check_memory`).
    Returns the bytes the run's tables need at their peak (for callers adding several)."""
    from forecast.engine import limits as lim

    name = prep.strategy.name
    if prep.method == "viewer":
        work = n * prep.compiled.expected_arrivals()
        if work > lim.MAX_VIEWER_ARRIVALS:
            raise v.fail(
                f"strategy {name!r}",
                "paths",
                n,
                f"the per-viewer kernel would simulate about {work:.3g} arrivals "
                f"({work / n:.3g} a path); at most {lim.MAX_VIEWER_ARRIVALS:.0e}: use "
                "method='cohort' or 'auto' (its cost does not grow with views) or fewer paths",
            )
        prep.compiled.check_viewer_memory(name, threads)
    need = lim.run_memory(n, prep.compiled.n_sessions, keep_sessions)
    lim.check_memory(
        need,
        f"a run of {v.plural(n, 'path')} of strategy {name!r}",
        "ask for fewer paths (a run's tables take about 230 bytes a path, plus 300 a session "
        "row when kept)",
    )
    return need
