"""`sensitivity`: which input drives the risk. Global sensitivity with SALib (Morris
screening, Sobol first-order and total indices) and a one-at-a-time tornado, on common
random numbers.

Every evaluation runs the strategy with the inputs at one point of the design on the same
seed and the same paths (common random numbers): the simulator's own noise is then nearly
the same function of the paths at every point, so it hardly shows in the differences the
indices are made of, which is what makes SALib's estimators usable on a stochastic model
(its users' complaint, SALib #292). What noise is left is reported: per output, the mean
Monte Carlo variance of one evaluation's estimate against the variance of the estimates
across the design (`Sensitivity.noise`, ``noise_share``).

* **Morris** (``method="morris"``): ``trajectories`` (r) one-at-a-time trajectories on a
  grid of ``levels`` levels, r (k + 1) evaluations for k inputs; ``mu_star`` is the mean
  absolute elementary effect of moving an input over its whole range (a range's bounds, or
  the 5 %-95 % quantiles of a distribution), in the output's unit; ``sigma`` its spread
  (interactions and curvature); ``mu_star_conf`` the bootstrap half-width.
* **Sobol** (``method="sobol"``): Saltelli's scheme on a scrambled Sobol sequence of
  ``samples`` (N) base points, N (k + 2) evaluations; ``S1`` (first order) and ``ST``
  (total) with bootstrap intervals at ``conf_level``.
* **Tornado**: each input at its low and its high, the others at the strategy's own
  values: 2 k + 1 evaluations; ``swing`` is the output's change from low to high.

Outputs: ``mean_profit``, ``mean_net_sales``, ``p_loss``, ``varNN``, ``cvarNN`` (of profit,
e.g. ``cvar95``), or functions of the path table (named by their ``__name__``).
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.analysis.evaluate import batch_error, batch_values, run_batch
from forecast.analysis.inputs import Input, InputError, apply, resolve_all
from forecast.analysis.objective import cvar_terms
from forecast.engine.backends import check_backend
from forecast.engine.prepare import Prepared, prepare, resolve_strategy
from forecast.engine.run import check_paths, check_seed, check_threads
from forecast.model import validation as v
from forecast.model.entities import Strategy
from forecast.results.summary import tail_risk

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

METHODS = ("morris", "sobol")
#: Design points run again on an independent seed to measure the noise left (`_noise`).
REPLICATES = 32
#: Strategies submitted to the backend at once.
BATCH_SIZE = 64
_RISK = re.compile(r"^(c?var)(\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class Output:
    """A summary of a path table: ``kind`` mean_profit, mean_net_sales, p_loss, var, cvar
    or function; ``level`` of VaR/CVaR (fraction); ``function`` for a function."""

    name: str
    kind: str
    level: float = 0.95
    function: Callable[[pl.DataFrame], float] | None = field(default=None, compare=False)

    def measure(self, table: pl.DataFrame) -> tuple[float, float]:
        """(value, Monte Carlo standard error) on ``table``."""

        profit = table["profit"].to_numpy()
        n = profit.size
        root = math.sqrt(n)
        if self.kind in ("mean_profit", "mean_net_sales"):
            x = profit if self.kind == "mean_profit" else table["net_sales"].to_numpy()
            return float(x.mean()), float(x.std(ddof=1)) / root if n > 1 else math.nan
        if self.kind == "p_loss":
            p = float((profit < 0).mean())
            return p, math.sqrt(p * (1 - p) / n)
        if self.kind == "cvar":
            terms = cvar_terms(profit, self.level)
            return tail_risk(profit, self.level)[1], float(terms.std(ddof=1)) / root
        return self._of(table), batch_error(batch_values(table, self._of))

    def _of(self, table: pl.DataFrame) -> float:
        if self.kind == "var":
            return tail_risk(table["profit"].to_numpy(), self.level)[0]
        assert self.function is not None
        out = self.function(table)
        try:
            value = float(out)
        except (TypeError, ValueError):
            raise v.fail("outputs", self.name, out, "the function must return a number") from None
        if not math.isfinite(value):
            raise v.fail("outputs", self.name, value, "the function must return a finite number")
        return value


def parse_outputs(outputs: Any) -> list[Output]:
    """Outputs from names and functions (or a mapping name -> function)."""
    allowed = "mean_profit, mean_net_sales, p_loss, varNN, cvarNN (e.g. cvar95) or a function"
    if isinstance(outputs, str) or callable(outputs):
        outputs = [outputs]
    items: list[tuple[str, Any]]
    if isinstance(outputs, Mapping):
        items = [(str(k), f) for k, f in outputs.items()]
    elif isinstance(outputs, Sequence) and outputs:
        items = [
            (o if isinstance(o, str) else getattr(o, "__name__", "custom"), o) for o in outputs
        ]
    else:
        raise v.fail("sensitivity", "outputs", outputs, f"must list outputs: {allowed}")
    out: list[Output] = []
    for name, spec in items:
        if callable(spec):
            out.append(Output(name, "function", function=spec))
            continue
        if spec in ("mean_profit", "mean_net_sales", "p_loss"):
            out.append(Output(spec, spec))
            continue
        m = _RISK.match(spec) if isinstance(spec, str) else None
        if m is None or not 50 <= float(m.group(2)) <= 99.9:
            raise v.fail("outputs", "output", spec, f"must be one of {allowed}")
        out.append(Output(spec, m.group(1), level=float(m.group(2)) / 100))
    names = [o.name for o in out]
    if len(set(names)) != len(names):
        raise v.fail("sensitivity", "outputs", names, "must not name an output twice")
    return out


@dataclass
class Sensitivity:
    """What `sensitivity` found. ``indices``: per output and input, Morris ``mu_star``,
    ``mu_star_conf``, ``mu``, ``sigma`` or Sobol ``S1``, ``S1_low``, ``S1_high``, ``ST``,
    ``ST_low``, ``ST_high``; ``tornado``: per output and input the output at the input's low
    and high (others at base) and the ``swing``; ``noise``: per output the variance across
    the design and the Monte Carlo share of it; ``design``: every evaluation's inputs and
    outputs."""

    strategy: Strategy
    inputs: list[Input]
    outputs: list[Output]
    method: str
    seed: int
    seed_drawn: bool
    paths: int
    kernel: str
    indices: pl.DataFrame
    tornado: pl.DataFrame | None
    noise: pl.DataFrame
    design: pl.DataFrame
    evaluations: int
    elapsed_s: float
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """The indices, the tornado's top and the noise, as text."""
        import polars as pl

        lines = [
            f"Sensitivity of {self.strategy.name!r} ({self.method}, {len(self.inputs)} inputs, "
            f"{self.evaluations:,} evaluations x {self.paths:,} paths, seed {self.seed}, "
            f"{self.elapsed_s:.1f} s)"
        ]
        for out in self.outputs:
            rows = self.indices.filter(pl.col("output") == out.name)
            key = "ST" if self.method == "sobol" else "mu_star"
            rows = rows.sort(key, descending=True, nulls_last=True)
            lines.append(f"{out.name}:")
            for r in rows.iter_rows(named=True):
                if self.method == "sobol":
                    lines.append(
                        f"  {r['input']:<32} S1 {r['S1']:6.3f} [{r['S1_low']:6.3f}, "
                        f"{r['S1_high']:6.3f}]  ST {r['ST']:6.3f} [{r['ST_low']:6.3f}, "
                        f"{r['ST_high']:6.3f}]"
                    )
                else:
                    lines.append(
                        f"  {r['input']:<32} mu* {r['mu_star']:14,.2f} ± "
                        f"{r['mu_star_conf']:,.2f}  sigma {r['sigma']:14,.2f}"
                    )
            noise = self.noise.filter(pl.col("output") == out.name).row(0, named=True)
            lines.append(
                f"  Monte Carlo noise: {100 * noise['noise_share']:.2f} % of the variance across "
                f"the design on common random numbers ({_pct(noise['independent_share'])} "
                "with independent streams)"
            )
        return "\n".join(lines)


def tornado(
    strategy: Strategy | str | Path,
    inputs: Mapping[str, Any],
    outputs: Any = ("mean_profit", "cvar95"),
    paths: int = 2_000,
    seed: int | None = None,
    *,
    kernel: str = "auto",
    threads: int | None = None,
    backend: Any = None,
) -> pl.DataFrame:
    """The one-at-a-time table alone (2 k + 1 evaluations on ``seed``): per output and
    input the output with the input at its low and at its high, the others at base (the
    ``tornado`` of `sensitivity`, without its design)."""

    base = resolve_strategy(strategy)
    items = resolve_all(base, inputs)
    outs = parse_outputs(outputs)
    n = check_paths(paths)
    seed_value, _ = check_seed(seed, "sensitivity")
    cluster = check_backend(backend, check_threads(threads))
    chosen = prepare(base, kernel).method
    extra = _tornado_points(items)
    points = {row: i for i, row in enumerate(dict.fromkeys(extra))}
    measured = _measure(base, items, list(points), outs, chosen, n, seed_value, cluster)
    return _tornado(outs, items, extra, points, measured)


def _measure(
    base: Strategy,
    items: Sequence[Input],
    rows: Sequence[tuple[float, ...]],
    outs: Sequence[Output],
    kernel: str,
    paths: int,
    seed: int,
    backend: Any,
    tick: Callable[[int], None] | None = None,
) -> np.ndarray:
    """[rows, outputs, (value, Monte Carlo error)]: the strategy with the inputs at each
    row of values, run on ``paths`` paths of ``seed``, `BATCH_SIZE` strategies submitted at
    once; ``tick(1)`` as each finishes."""
    import numpy as np

    out = np.full((len(rows), len(outs), 2), np.nan)
    for lo in range(0, len(rows), BATCH_SIZE):
        preps: list[Prepared] = []
        for row in rows[lo : lo + BATCH_SIZE]:
            try:
                preps.append(prepare(apply(base, items, row), kernel))
            except ValueError as err:
                if isinstance(err, InputError):
                    raise
                at = dict(zip([i.name for i in items], row, strict=True))
                raise InputError(f"inputs: at {at}: {err}") from None

        def done(i: int, table: pl.DataFrame, _: Any, start: int = lo) -> None:
            for k, o in enumerate(outs):
                out[start + i, k] = o.measure(table)
            if tick is not None:
                tick(1)

        run_batch(preps, paths, seed, backend, done)
    return out


def _tornado_points(items: Sequence[Input]) -> list[tuple[float, ...]]:
    """The base point, then each input at its low and at its high, the others at base."""
    base_row = tuple(it.base for it in items)
    out = [base_row]
    for j, it in enumerate(items):
        for x in (it.low, it.high):
            row = list(base_row)
            row[j] = x
            out.append(tuple(row))
    return out


def _unit_problem(inputs: Sequence[Input]) -> dict[str, Any]:
    return {
        "num_vars": len(inputs),
        "names": [i.name for i in inputs],
        "bounds": [[0.0, 1.0]] * len(inputs),
    }


def _morris_u(item: Input, u: float) -> float:
    """A Morris level (0 .. 1) as a probability of the input's law: a range's bounds
    themselves, a distribution's 5 %-95 % quantiles (its tornado low and high)."""
    from forecast.analysis.inputs import TORNADO_TAIL

    if item.law.dist == "uniform":
        return min(max(u, 0.0), 1.0)
    return TORNADO_TAIL + u * (1.0 - 2.0 * TORNADO_TAIL)


def sensitivity(
    strategy: Strategy | str | Path,
    inputs: Mapping[str, Any],
    outputs: Any = ("mean_profit", "cvar95"),
    method: str = "morris",
    paths: int = 2_000,
    seed: int | None = None,
    *,
    trajectories: int = 20,
    levels: int = 4,
    samples: int = 1024,
    conf_level: float = 0.95,
    resamples: int = 1000,
    tornado: bool = True,
    kernel: str = "auto",
    threads: int | None = None,
    backend: Any = None,
    progress: bool = False,
) -> Sensitivity:
    """Which of ``inputs`` drive ``outputs`` of ``strategy`` (see the module docstring).

    ``inputs``: input name -> law (`forecast.analysis.inputs`: ``(low, high)``, a
    distribution table, or ``"posterior"`` for a fitted host's level); ``outputs``: names
    or functions of the path table; ``method``: "morris" (``trajectories``, ``levels``) or
    "sobol" (``samples``: N base points, a power of two); ``paths`` per evaluation, all on
    ``seed``; ``tornado``: also the one-at-a-time table; ``kernel``: as ``method`` of
    `forecast.run` (one kernel for every evaluation); ``threads``, ``backend``,
    ``progress``: as in `forecast.run`.
    """
    started = time.perf_counter()
    base = resolve_strategy(strategy)
    items = resolve_all(base, inputs)
    outs = parse_outputs(outputs)
    if method not in METHODS:
        raise v.fail("sensitivity", "method", method, f"must be one of {', '.join(METHODS)}")
    n = check_paths(paths)
    seed_value, drawn = check_seed(seed, "sensitivity")
    threads = check_threads(threads)
    cluster = check_backend(backend, threads)
    conf = v.in_range("sensitivity", "conf_level", conf_level, 0, 1, lo_open=True, hi_open=True)
    boot = v.integer("sensitivity", "resamples", resamples, 10, 100_000)
    chosen = prepare(base, kernel).method
    import numpy as np

    problem = _unit_problem(items)
    rng_seed = seed_value % 2**32
    if method == "morris":
        r = v.integer("sensitivity", "trajectories", trajectories, 2, 10_000)
        lv = v.integer("sensitivity", "levels", levels, 2, 100)
        if lv % 2:
            raise v.fail("sensitivity", "levels", lv, "must be even (Morris's grid)")
        from SALib.sample import morris as morris_sample

        unit = morris_sample.sample(problem, N=r, num_levels=lv, seed=rng_seed)
        probs = np.array(
            [[_morris_u(it, u) for it, u in zip(items, row, strict=True)] for row in unit]
        )
    else:
        big_n = v.integer("sensitivity", "samples", samples, 2, 1 << 20)
        if big_n & (big_n - 1):
            raise v.fail("sensitivity", "samples", big_n, "must be a power of two (Sobol sequence)")
        from SALib.sample import sobol as sobol_sample

        unit = sobol_sample.sample(
            problem, big_n, calc_second_order=False, scramble=True, seed=rng_seed
        )
        probs = np.clip(unit, 1e-12, 1 - 1e-12)
    values = np.array([[it.value(u) for it, u in zip(items, row, strict=True)] for row in probs])
    points: dict[tuple[float, ...], int] = {}
    for row in values:
        points.setdefault(tuple(float(x) for x in row), len(points))
    extra: list[tuple[float, ...]] = []
    if tornado:
        extra = _tornado_points(items)
        for row in extra:
            points.setdefault(row, len(points))
    from forecast.progress import bar

    order = list(points)
    from forecast.engine.compile import key64

    # the noise left under common random numbers: a sample of the design points again, on
    # an independent seed (see `_noise`)
    picks = np.unique(np.linspace(0, len(order) - 1, min(REPLICATES, len(order))).astype(int))
    with bar(len(order) + picks.size, "sensitivity", progress, unit="run") as tick:
        measured = _measure(base, items, order, outs, chosen, n, seed_value, cluster, tick)
        again = _measure(
            base,
            items,
            [order[i] for i in picks],
            outs,
            chosen,
            n,
            key64(f"{seed_value}:replicate"),
            cluster,
            tick,
        )[:, :, 0]
    index = np.array([points[tuple(float(x) for x in row)] for row in values])
    y = measured[index, :, 0]  # [design rows, outputs]
    se = measured[index, :, 1]
    table = _indices(method, problem, unit, y, outs, items, conf, boot, rng_seed, levels)
    noise = _noise(outs, y, se, measured[picks, :, 0], again)
    tor = _tornado(outs, items, extra, points, measured) if tornado else None
    design = _design(items, outs, probs, values, y, se)
    return Sensitivity(
        strategy=base,
        inputs=items,
        outputs=outs,
        method=method,
        seed=seed_value,
        seed_drawn=drawn,
        paths=n,
        kernel=chosen,
        indices=table,
        tornado=tor,
        noise=noise,
        design=design,
        evaluations=len(points),
        elapsed_s=time.perf_counter() - started,
        settings={
            "method": method,
            "trajectories": trajectories,
            "levels": levels,
            "samples": samples,
            "conf_level": conf,
            "resamples": boot,
            "paths": n,
            "seed": seed_value,
            "kernel": chosen,
            "design_rows": int(values.shape[0]),
        },
    )


def _indices(
    method: str,
    problem: dict[str, Any],
    unit: np.ndarray,
    y: np.ndarray,
    outs: Sequence[Output],
    items: Sequence[Input],
    conf: float,
    boot: int,
    seed: int,
    levels: int,
) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    rows = []
    for k, out in enumerate(outs):
        yk = np.ascontiguousarray(y[:, k])
        constant = not np.ptp(yk) > 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # SALib on near-constant output
            if method == "morris":
                from SALib.analyze import morris as morris_analyze

                res = (
                    None
                    if constant
                    else morris_analyze.analyze(
                        problem,
                        unit,
                        yk,
                        num_resamples=boot,
                        conf_level=conf,
                        num_levels=levels,
                        seed=seed,
                    )
                )
                for j, it in enumerate(items):
                    rows.append(
                        {
                            "output": out.name,
                            "input": it.name,
                            "mu_star": 0.0 if res is None else float(res["mu_star"][j]),
                            "mu_star_conf": 0.0 if res is None else float(res["mu_star_conf"][j]),
                            "mu": 0.0 if res is None else float(res["mu"][j]),
                            "sigma": 0.0 if res is None else float(res["sigma"][j]),
                        }
                    )
            else:
                from SALib.analyze import sobol as sobol_analyze

                res = (
                    None
                    if constant
                    else sobol_analyze.analyze(
                        problem,
                        yk,
                        calc_second_order=False,
                        num_resamples=boot,
                        conf_level=conf,
                        seed=seed,
                    )
                )
                for j, it in enumerate(items):
                    s1 = 0.0 if res is None else float(res["S1"][j])
                    s1c = 0.0 if res is None else float(res["S1_conf"][j])
                    st = 0.0 if res is None else float(res["ST"][j])
                    stc = 0.0 if res is None else float(res["ST_conf"][j])
                    rows.append(
                        {
                            "output": out.name,
                            "input": it.name,
                            "S1": s1,
                            "S1_low": s1 - s1c,
                            "S1_high": s1 + s1c,
                            "ST": st,
                            "ST_low": st - stc,
                            "ST_high": st + stc,
                        }
                    )
    return pl.DataFrame(rows)


def _noise(
    outs: Sequence[Output], y: np.ndarray, se: np.ndarray, first: np.ndarray, second: np.ndarray
) -> pl.DataFrame:
    """Per output: ``variance`` of the estimates across the design; ``noise_variance``, the
    part of it that is Monte Carlo noise under common random numbers: half the variance of
    the differences between the same points on two independent seeds (``first``,
    ``second``; a shift common to every point moves no index and cancels here); its
    ``noise_share``; and for comparison ``independent_share``, the share that independent
    streams would leave (each estimate's own Monte Carlo variance)."""
    import numpy as np
    import polars as pl

    rows = []
    for k, out in enumerate(outs):
        total = float(np.var(y[:, k], ddof=1)) if y.shape[0] > 1 else 0.0
        d = first[:, k] - second[:, k]
        crn = float(np.var(d, ddof=1)) / 2.0 if d.size > 1 else math.nan
        known = se[:, k][np.isfinite(se[:, k])]  # none from one path: left null
        own = float(np.mean(known**2)) if known.size else None

        rows.append(
            {
                "output": out.name,
                "variance": total,
                "noise_variance": crn,
                "noise_share": _share(crn, total),
                "independent_variance": own,
                "independent_share": None if own is None else _share(own, total),
                "replicates": int(d.size),
            }
        )
    return pl.DataFrame(rows)


def _pct(share: float | None) -> str:
    """A share as a percentage, or "n/a" where it could not be measured (one path)."""
    return "n/a" if share is None else f"{100 * share:.1f} %"


def _share(part: float, total: float) -> float:
    return min(1.0, part / total) if total > 0 else (0.0 if part == 0 else 1.0)


def _tornado(
    outs: Sequence[Output],
    items: Sequence[Input],
    extra: Sequence[tuple[float, ...]],
    points: dict[tuple[float, ...], int],
    measured: np.ndarray,
) -> pl.DataFrame:
    import polars as pl

    at_base = measured[points[extra[0]], :, 0]
    rows = []
    for k, out in enumerate(outs):
        for j, it in enumerate(items):
            lo = measured[points[extra[1 + 2 * j]], k, 0]
            hi = measured[points[extra[2 + 2 * j]], k, 0]
            rows.append(
                {
                    "output": out.name,
                    "input": it.name,
                    "law": it.law.describe(),
                    "base_value": it.base,
                    "low_value": it.low,
                    "high_value": it.high,
                    "at_base": float(at_base[k]),
                    "at_low": float(lo),
                    "at_high": float(hi),
                    "swing": float(hi - lo),
                }
            )
    frame = pl.DataFrame(rows)
    frame = frame.with_columns(pl.col("swing").abs().alias("abs_swing"))
    frame = frame.sort(["output", "abs_swing"], descending=[False, True], maintain_order=True)
    return frame.with_columns(
        pl.col("abs_swing").rank("ordinal", descending=True).over("output").alias("rank")
    ).drop("abs_swing")


def _design(
    items: Sequence[Input],
    outs: Sequence[Output],
    probs: np.ndarray,
    values: np.ndarray,
    y: np.ndarray,
    se: np.ndarray,
) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    cols: dict[str, Any] = {"row": list(range(values.shape[0]))}
    for j, it in enumerate(items):
        cols[it.name] = values[:, j]
    for k, out in enumerate(outs):
        cols[out.name] = y[:, k]
        if np.isfinite(se[:, k]).all():  # left out where it cannot be computed (one path)
            cols[f"{out.name}_mcse"] = se[:, k]
    return pl.DataFrame(cols)


__all__ = ["METHODS", "Output", "Sensitivity", "parse_outputs", "sensitivity", "tornado"]
