"""Compare strategies on common random numbers.

Every strategy runs with the same seed. A session's random draws are keyed by its label
(``"<influencer>#<k>"`` unless set), not by its position, so wherever two strategies share a
session they see the same viewers, traffic shock and purchase draws for it. Their paired
differences then come from the strategies, not from noise. ``common_random_numbers=False``
gives each strategy an independent seed instead (to measure what the pairing buys).

Conventions for a pair (A, B) and a metric:

* ``mean_diff``: mean over paths of A - B, with a ``level`` normal confidence interval
  (``ci_low``, ``ci_high``) from the paired differences' standard error ``se``;
* ``p_a_beats_b``: P(A > B) + P(A = B) / 2 over paths (ties split), with ``p_mcse`` its Monte
  Carlo standard error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.engine.backends import check_backend
from forecast.engine.prepare import check_cost, check_method, prepare, resolve_strategy, run_threads
from forecast.engine.run import check_paths, check_seed, check_threads, forecast_of, keeps_sessions
from forecast.model import validation as v
from forecast.model.entities import Strategy
from forecast.results.result import Forecast

if TYPE_CHECKING:
    import polars as pl

#: Metrics compared pairwise by default: the money columns of the path table.
MONEY_METRICS = ("gmv", "returns", "net_sales", "commission", "fees", "cost", "profit")

#: Named objectives: (summary metric, summary column, True if larger is better).
OBJECTIVES: dict[str, tuple[str, str, bool]] = {
    "mean_profit": ("profit", "mean", True),
    "mean_net_sales": ("net_sales", "mean", True),
    "cvar95": ("profit", "cvar95", False),
    "p_loss": ("profit", "p_loss", False),
}

Objective = str | Callable[["pl.DataFrame"], float]


@dataclass
class Comparison:
    """Forecasts of several strategies on common random numbers, and their comparison."""

    forecasts: dict[str, Forecast]
    seed: int
    seed_drawn: bool
    objective: Objective
    common_random_numbers: bool

    @property
    def names(self) -> list[str]:
        return list(self.forecasts)

    @property
    def n_paths(self) -> int:
        """Paths each strategy ran (the same for all)."""
        return next(iter(self.forecasts.values())).n_paths

    def summary(self) -> pl.DataFrame:
        """Per-strategy summaries (as `Forecast.summary`) stacked, with a ``strategy`` column."""
        import polars as pl

        return pl.concat(
            [
                f.summary().insert_column(0, pl.lit(n).alias("strategy"))
                for n, f in self.forecasts.items()
            ]
        )

    def pairwise(self, metrics: Sequence[str] = MONEY_METRICS, level: float = 0.95) -> pl.DataFrame:
        """Paired differences for every ordered pair (A before B in input order) and metric."""
        from statistics import NormalDist

        import polars as pl

        level = v.in_range("pairwise", "level", level, 0, 1, lo_open=True, hi_open=True)
        z = NormalDist().inv_cdf(0.5 + level / 2)
        rows = []
        names = self.names
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                pa, pb = self.forecasts[a].paths, self.forecasts[b].paths
                for m in metrics:
                    d = pa[m].to_numpy() - pb[m].to_numpy()
                    n = d.size
                    mean = float(d.mean())
                    se = float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
                    # each path's score (1 a win, 1/2 a tie): its mean is P, its spread the
                    # MCSE, 0 when every path ties (identical strategies)
                    score = (d > 0) + 0.5 * (d == 0)
                    p = float(score.mean())
                    p_se = float(score.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
                    rows.append(
                        {
                            "strategy_a": a,
                            "strategy_b": b,
                            "metric": m,
                            "mean_a": float(pa[m].mean()),  # type: ignore[arg-type]
                            "mean_b": float(pb[m].mean()),  # type: ignore[arg-type]
                            "mean_diff": mean,
                            "se": se,
                            "ci_low": mean - z * se,
                            "ci_high": mean + z * se,
                            "p_a_beats_b": p,
                            "p_mcse": p_se,
                        }
                    )
        table = pl.DataFrame(rows)
        if self.n_paths < 2:  # no spread from one path: the error columns are left out
            table = table.drop("se", "ci_low", "ci_high", "p_mcse")
        return table

    def ranking(self) -> pl.DataFrame:
        """Strategies ordered best first by the objective: ``value`` (and ``mcse`` where the
        objective is a mean or P(loss))."""
        import polars as pl

        rows = []
        for name, fc in self.forecasts.items():
            if callable(self.objective):
                value = float(self.objective(fc.paths))
                mcse = None
                label = getattr(self.objective, "__name__", "custom")
                better_high = True
            else:
                metric, column, better_high = OBJECTIVES[self.objective]
                row = fc.summary((metric,)).row(0, named=True)
                value = float(row[column])
                mcse = {"mean": row["mcse"], "p_loss": row["p_loss_mcse"]}.get(column)
                label = self.objective
            rows.append({"strategy": name, "objective": label, "value": value, "mcse": mcse})
        frame = pl.DataFrame(
            rows,
            schema={
                "strategy": pl.String,
                "objective": pl.String,
                "value": pl.Float64,
                "mcse": pl.Float64,
            },
        )
        frame = frame.sort("value", descending=better_high, maintain_order=True)
        return frame.with_row_index("rank", offset=1)


def _named(
    strategies: Mapping[str, Strategy | str | Path] | Sequence[Strategy | str | Path],
) -> dict[str, Strategy]:
    if isinstance(strategies, Mapping):
        items = [(str(k), resolve_strategy(s)) for k, s in strategies.items()]
    elif isinstance(strategies, Sequence) and not isinstance(strategies, str):
        resolved = [resolve_strategy(s) for s in strategies]
        items = [(s.name, s) for s in resolved]
    else:
        raise v.fail(
            "compare",
            "strategies",
            strategies,
            "must be a mapping of name to Strategy or a list of strategies/files",
        )
    given = list(strategies.values()) if isinstance(strategies, Mapping) else list(strategies)
    out: dict[str, Strategy] = {}
    for i, (name, s) in enumerate(items):
        if name in out:
            first = [n for n, _ in items].index(name)
            files = [x for x in (given[first], given[i]) if isinstance(x, str | Path)]
            if len(files) == 2 and Path(files[0]).resolve() == Path(files[1]).resolve():
                advice = (
                    f"the file {str(files[0])!r} is given twice; compare it with another "
                    "strategy (to compare a file with a variant of itself, copy it and give "
                    "the copy its own `name = ...`)"
                )
            elif files:
                advice = (
                    "two strategies share this name; give each file its own `name = ...` "
                    "(the name defaults to the file's stem)"
                )
            else:
                advice = "names must be distinct; pass a mapping of name to strategy to name them"
            raise v.fail("compare", "strategies", name, advice)
        out[name] = s
    if len(out) < 2:
        raise v.fail("compare", "strategies", list(out), "needs at least two strategies")
    return out


def compare(
    strategies: Mapping[str, Strategy | str | Path] | Sequence[Strategy | str | Path],
    paths: int = 10_000,
    seed: int | None = None,
    objective: Objective = "mean_profit",
    *,
    method: str = "auto",
    threads: int | None = None,
    common_random_numbers: bool = True,
    progress: bool = False,
    backend: Any = None,
) -> Comparison:
    """Run every strategy with the same seed (common random numbers) and compare them.

    ``strategies``: a mapping name -> Strategy (or strategy file), or a list of them (named by
    their ``name``). ``objective``: ``"mean_profit"``, ``"mean_net_sales"``, ``"cvar95"``
    (of profit, lower is better), ``"p_loss"`` (lower is better) or a function of a path table
    returning a number (higher is better). ``method``: as in `forecast.run`, but one kernel
    for all strategies, so that their paths stay paired: "auto" takes the cohort kernel only
    if it is exact for every strategy. ``progress``: a progress bar over all strategies'
    paths, on a terminal (`forecast.progress`). ``backend``: as in `forecast.run`; on a
    cluster every strategy's tasks are submitted at once.
    """
    named = _named(strategies)
    if not callable(objective) and objective not in OBJECTIVES:
        raise v.fail(
            "compare",
            "objective",
            objective,
            f"must be one of {', '.join(OBJECTIVES)} or a function of the path table",
        )
    from forecast.engine.compile import key64

    n = check_paths(paths)
    seed_value, drawn = check_seed(seed, "compare")
    threads = check_threads(threads)
    chosen = check_method(method)
    cluster = check_backend(backend, threads)
    prepared = {name: prepare(strategy, chosen) for name, strategy in named.items()}
    if len({p.method for p in prepared.values()}) > 1:
        # "auto" falls back for some: run all on the per-viewer kernel to pair their paths
        prepared = {name: prepare(strategy, "viewer") for name, strategy in named.items()}
    from forecast.engine import limits
    from forecast.engine.backends import LocalBackend
    from forecast.progress import bar

    local_threads = run_threads(threads) if isinstance(cluster, LocalBackend) else 1
    need = sum(
        check_cost(prep, n, threads=local_threads, keep_sessions=keeps_sessions(prep, n))
        for prep in prepared.values()
    )
    limits.check_memory(
        need,
        f"a comparison of {len(prepared)} strategies x {v.plural(n, 'path')}",
        "ask for fewer paths or compare fewer strategies at once",
    )
    seeds = {
        name: seed_value if common_random_numbers else key64(f"{seed_value}:{name}")
        for name in named
    }
    with bar(n * len(named), "compare", progress) as tick:  # on a cluster: all at once
        jobs = {
            name: cluster.submit(
                prep, seeds[name], n, keep_sessions=keeps_sessions(prep, n), session_net=False
            )
            for name, prep in prepared.items()
        }
        cluster.gather(list(jobs.values()), tick)
    forecasts = {
        name: forecast_of(prepared[name], job.parts(), n, seeds[name]) for name, job in jobs.items()
    }
    return Comparison(forecasts, seed_value, drawn, objective, common_random_numbers)


def variance_ratio(
    comparison: Comparison, independent: Comparison, a: str, b: str, metric: str = "net_sales"
) -> float:
    """Var(A - B) under common random numbers / Var(A - B) under independent streams."""

    def var(c: Comparison) -> float:
        d = c.forecasts[a].paths[metric].to_numpy() - c.forecasts[b].paths[metric].to_numpy()
        return float(d.var(ddof=1))

    return var(comparison) / var(independent)


__all__ = ["OBJECTIVES", "Comparison", "compare", "variance_ratio"]
