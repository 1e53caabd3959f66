"""`run`: validate the request, compile the strategy, drive the kernel over chunks of paths."""

from __future__ import annotations

import contextlib
import numbers
import platform
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forecast import validation as v
from forecast.model import Strategy
from forecast.results import Forecast, strategy_hash

#: Paths per kernel call when the caller does not choose: bounds the memory of one call
#: and never changes a result.
DEFAULT_CHUNK = 4096

#: Kernel choices of `run`: "auto" takes the cohort kernel whenever it is exact for the
#: strategy, the per-viewer kernel otherwise.
METHODS = ("auto", "viewer", "cohort")


def _versions() -> dict[str, str]:
    from importlib import metadata as importlib_metadata

    out = {"python": platform.python_version()}
    for dist in ("forecast", "numba", "numpy", "polars", "pyarrow"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            out[dist] = "unknown"
    return out


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    import numba

    if n is None:
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def resolve_strategy(strategy: Strategy | str | Path) -> Strategy:
    """A Strategy, or one loaded from a strategy file path."""
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, str | Path):
        from forecast.strategy_file import load

        return load(strategy)
    raise v.fail("run", "strategy", strategy, "must be a Strategy or a strategy file path")


def check_seed(seed: Any) -> tuple[int, bool]:
    """(seed, drawn): a given seed checked to be in [0, 2**64), or a fresh one drawn."""
    if seed is None:
        return secrets.randbits(63), True
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= int(seed) < 2**64
    ):
        raise v.fail("run", "seed", seed, "must be a whole number in [0, 2**64) or None")
    return int(seed), False


def check_method(method: Any) -> str:
    """``method`` checked against `METHODS`."""
    if method not in METHODS:
        raise v.fail("run", "method", method, f"must be one of {', '.join(METHODS)}")
    return str(method)


def cohort_reasons(strategy: Strategy | str | Path) -> tuple[str, ...]:
    """Why the cohort kernel would not be exact for ``strategy``; empty when it is (then
    ``method="auto"`` runs it)."""
    from forecast.cohort_plan import plan_cohort
    from forecast.compile import compile_strategy

    strat = resolve_strategy(strategy)
    return plan_cohort(strat, compile_strategy(strat)).reasons


def run(
    strategy: Strategy | str | Path,
    paths: int = 10_000,
    seed: int | None = None,
    *,
    method: str = "auto",
    threads: int | None = None,
    chunk_paths: int | None = None,
) -> Forecast:
    """Simulate ``paths`` campaigns of ``strategy`` and return their distribution.

    ``seed``: None draws one (recorded in the result and shown); the same seed gives
    bit-identical results for any ``threads`` (numba threads, default: all) and any
    ``chunk_paths`` (paths per kernel call), and path i is the same in runs of any size.

    ``method``: "cohort" draws counts per exposure pattern and identity class (same
    distributions, cost independent of the number of viewers); "viewer" simulates every
    arrival; "auto" (default) takes the cohort kernel whenever it is exact for the strategy
    (`cohort_reasons`). ``Forecast.method`` records which ran. The two kernels use different
    draws, so the same seed gives the same distribution, not the same paths, across them.
    """
    import numba
    import numpy as np

    from forecast.compile import compile_strategy
    from forecast.tables import paths_table, sessions_table
    from kernels import layout as L

    strat = resolve_strategy(strategy)
    n = v.integer("run", "paths", paths, 1, 100_000_000)
    seed_value, drawn = check_seed(seed)
    max_threads = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    if threads is not None:
        threads = v.integer("run", "threads", threads, 1, max_threads)
    chunk = (
        DEFAULT_CHUNK if chunk_paths is None else v.integer("run", "chunk_paths", chunk_paths, 1)
    )

    requested = check_method(method)
    compiled = compile_strategy(strat)
    plan = None
    if requested != "viewer":
        from forecast.cohort_plan import plan_cohort

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
    s = compiled.n_sessions
    counts = np.zeros((n, s, L.N_COUNTS), dtype=np.int64)
    money = np.zeros((n, s, L.N_MONEY), dtype=np.float64)
    started = time.perf_counter()
    if chosen == "cohort":
        from kernels.cohort import run_cohort

        def kernel(lo: int, hi: int) -> None:
            run_cohort(compiled, plan, seed_value, lo, counts[lo:hi], money[lo:hi])
    else:
        from kernels.viewer import run_paths

        def kernel(lo: int, hi: int) -> None:
            run_paths(compiled, seed_value, lo, counts[lo:hi], money[lo:hi])

    with _threads(threads):
        for lo in range(0, n, chunk):
            kernel(lo, min(n, lo + chunk))
    elapsed = time.perf_counter() - started
    from forecast.io import FORMAT
    from forecast.strategy_file import strategy_to_dict

    meta = {
        "format": FORMAT,
        "seed": seed_value,
        "seed_drawn": drawn,
        "paths": n,
        "method": chosen,
        "method_requested": requested,
        "strategy": strategy_to_dict(strat),
        "strategy_sha256": strategy_hash(strat),
        "versions": _versions(),
        "version": _versions()["forecast"],
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return Forecast(
        strategy=strat,
        seed=seed_value,
        n_paths=n,
        method=chosen,
        paths=paths_table(strat, 0, counts, money),
        _sessions=sessions_table(strat, 0, counts, money),
        seed_drawn=drawn,
        elapsed_s=elapsed,
        metadata=meta,
    )
