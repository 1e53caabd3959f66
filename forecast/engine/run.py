"""`run`: validate the request, prepare the strategy, run its paths on a backend and put
the parts together into a `Forecast`."""

from __future__ import annotations

import numbers
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forecast.engine.backends import Backend, LocalBackend, check_backend
from forecast.engine.blocks import Blocks, session_totals_of
from forecast.engine.prepare import (
    Prepared,
    check_cost,
    check_method,
    prepare,
    resolve_strategy,
    run_threads,
)
from forecast.model import validation as v
from forecast.model.entities import Strategy
from forecast.results.provenance import versions
from forecast.results.result import Forecast, strategy_hash

#: Above this many rows (paths x sessions) `run` keeps no session table, which
#: `Forecast.sessions` then rebuilds on first use (about 270 bytes a row).
EAGER_SESSION_ROWS = 1_000_000

#: Most paths one run may ask for.
MAX_PATHS = 100_000_000


#: Every seed, in every command and function: a whole number in [0, 2**64).
SEED_RANGE = "a whole number in [0, 2**64)"


def check_seed(seed: Any, owner: str = "run") -> tuple[int, bool]:
    """(seed, drawn): a given seed checked to be in [0, 2**64), or a fresh one drawn."""
    if seed is None:
        return secrets.randbits(63), True
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= int(seed) < 2**64
    ):
        raise v.fail(owner, "seed", seed, f"must be {SEED_RANGE} or None")
    return int(seed), False


def check_paths(paths: Any) -> int:
    """A number of paths, checked: a whole number in [1, `MAX_PATHS`]."""
    return v.integer("run", "paths", paths, 1, MAX_PATHS)


def check_threads(threads: Any) -> int | None:
    """A numba thread count, checked against the pool's size; None (all threads) passes."""
    import numba

    if threads is None:
        return None
    max_threads = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    return v.integer("run", "threads", threads, 1, max_threads)


def run(
    strategy: Strategy | str | Path,
    paths: int = 10_000,
    seed: int | None = None,
    *,
    method: str = "auto",
    threads: int | None = None,
    chunk_paths: int | None = None,
    progress: bool = False,
    backend: Any = None,
) -> Forecast:
    """Simulate ``paths`` campaigns of ``strategy`` and return their distribution.

    ``seed``: None draws one (recorded in the result and shown); the same seed gives
    bit-identical results for any ``threads`` (numba threads, default: all) and any
    ``chunk_paths`` (paths per kernel call, at most `BLOCK_PATHS`; default `DEFAULT_CHUNK`
    for the cohort kernel, `DEFAULT_VIEWER_CHUNK` for the per-viewer one), and path i is the
    same in runs of any size.

    ``method``: "cohort" draws counts per exposure pattern and identity class (same
    distributions, cost independent of the number of viewers); "viewer" simulates every
    arrival; "auto" (default) takes the cohort kernel whenever it is exact for the strategy
    (`cohort_reasons`). ``Forecast.method`` records which ran. The two kernels use different
    draws, so the same seed gives the same distribution, not the same paths, across them.

    Memory: the path table (about 210 bytes a path) and, up to `EAGER_SESSION_ROWS` rows of
    paths x sessions, the session table (about 270 bytes a row). A larger run keeps no
    session table: `Forecast.sessions` rebuilds it on first use by rerunning the recorded
    seed, and `Forecast.session_summary` is summed during the run, so 1,000,000 paths of a
    six-session campaign run within 1 GiB.

    ``progress``: draw a progress bar on stderr when it is a terminal and the run takes more
    than a second (`forecast.progress`).

    ``backend``: None or "local" runs here on numba threads; "dask", a
    ``dask.distributed.Client`` or a `forecast.engine.cluster.DaskBackend` runs the paths as tasks
    on a Dask cluster, with the same bits (`forecast.engine.cluster`). ``threads`` and
    ``chunk_paths`` are then each worker's business and must be left out.
    """
    strat = resolve_strategy(strategy)
    n = check_paths(paths)
    seed_value, drawn = check_seed(seed)
    threads = check_threads(threads)
    chunk = None if chunk_paths is None else v.integer("run", "chunk_paths", chunk_paths, 1)
    requested = check_method(method)
    cluster = check_backend(backend, threads, chunk)
    from forecast.progress import bar

    with bar(n, strat.name, progress) as tick:
        return simulate(strat, n, seed_value, requested, drawn=drawn, tick=tick, backend=cluster)


def rerun(forecast: Forecast, keep_sessions: bool) -> Forecast:
    """``forecast``'s run again from its recorded strategy, paths, seed and kernel; with the
    session table whatever its size if ``keep_sessions``, else without it."""
    return simulate(
        forecast.strategy,
        forecast.n_paths,
        forecast.seed,
        forecast.method,
        keep_sessions=keep_sessions,
    )


def simulate(
    strat: Strategy,
    n: int,
    seed_value: int,
    requested: str,
    *,
    drawn: bool = False,
    keep_sessions: bool | None = None,
    prepared: Prepared | None = None,
    tick: Callable[[int], None] | None = None,
    backend: Backend | None = None,
) -> Forecast:
    """`run` on checked arguments, on ``backend`` (default: here, on all threads).
    ``keep_sessions``: None keeps the session table up to `EAGER_SESSION_ROWS` rows.
    ``prepared``: `prepare`'s result for this strategy and ``requested`` (computed if
    None)."""
    prep = prepare(strat, requested) if prepared is None else prepared
    keep = keeps_sessions(prep, n, keep_sessions)
    backend = backend or LocalBackend()
    threads = run_threads(backend.threads) if isinstance(backend, LocalBackend) else 1
    check_cost(prep, n, threads=threads, keep_sessions=keep)
    parts = backend.compute(prep, seed_value, n, keep_sessions=keep, tick=tick)
    return forecast_of(prep, parts, n, seed_value, drawn=drawn)


def keeps_sessions(prep: Prepared, n: int, keep_sessions: bool | None = None) -> bool:
    """Whether a run of ``n`` paths keeps its session table: ``keep_sessions`` if given,
    else up to `EAGER_SESSION_ROWS` rows."""
    if keep_sessions is not None:
        return keep_sessions
    return n * prep.compiled.n_sessions <= EAGER_SESSION_ROWS


def forecast_of(
    prep: Prepared,
    parts: list[Blocks],
    n: int,
    seed_value: int,
    *,
    drawn: bool = False,
) -> Forecast:
    """The `Forecast` of a run from its parts (in path order), which it empties as it copies
    them into one table each (so a large run holds its rows once more at most, never twice
    more). ``elapsed_s``: the seconds the parts took, wherever they ran."""
    import polars as pl

    from forecast.engine.tables import session_means_table

    strat, requested = prep.strategy, prep.requested
    keep = parts[0].sessions is not None
    totals = session_totals_of(parts)
    elapsed = sum(p.seconds for p in parts)
    paths_frame = pl.concat([p.paths for p in parts]).rechunk()  # one contiguous copy
    for p in parts:
        p.paths = paths_frame.clear()  # the blocks' rows are in paths_frame: let them go
    sessions_frame = None
    if keep:
        sessions_frame = pl.concat([p.sessions for p in parts if p.sessions is not None])
        sessions_frame = sessions_frame.rechunk()
    parts.clear()
    from forecast.model.strategy_file import strategy_to_dict
    from forecast.results.io import FORMAT

    meta = {
        "format": FORMAT,
        "seed": seed_value,
        "seed_drawn": drawn,
        "paths": n,
        "method": prep.method,
        "method_requested": requested,
        "strategy": strategy_to_dict(strat),
        "strategy_sha256": strategy_hash(strat),
        "versions": versions(),
        "version": versions()["forecast"],
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return Forecast(
        strategy=strat,
        seed=seed_value,
        n_paths=n,
        method=prep.method,
        paths=paths_frame,
        _sessions=sessions_frame,
        _session_means=session_means_table(strat, totals, n),
        seed_drawn=drawn,
        elapsed_s=elapsed,
        metadata=meta,
        rebuild=rerun,
    )


def read_parquet(path: str | Path) -> Forecast:
    """Read a file written by `Forecast.to_parquet` back into a Forecast, whose session
    tables are rebuilt on first use by rerunning its recorded strategy and seed."""
    from forecast.results import result

    return result.read_parquet(path, rebuild=rerun)
