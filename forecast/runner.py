"""`run`: validate the request, compile the strategy, drive the kernel over chunks of paths."""

from __future__ import annotations

import contextlib
import numbers
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from forecast import validation as v
from forecast.model import Strategy
from forecast.provenance import versions
from forecast.results import Forecast, strategy_hash

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from forecast.cohort_plan import CohortPlan
    from forecast.compile import Compiled

#: Paths the kernel fills before they become table rows: bounds the kernel's output arrays,
#: and fixes the order of the session totals, so chunking and threads never change a result.
BLOCK_PATHS = 4096

#: Paths per kernel call when the caller does not choose (never changes a result): a
#: block for the cohort kernel; fewer for the per-viewer kernel, whose paths can take
#: seconds each, so that progress is reported and Ctrl-C is seen between calls.
DEFAULT_CHUNK = BLOCK_PATHS
DEFAULT_VIEWER_CHUNK = 32

#: Above this many rows (paths x sessions) `run` keeps no session table, which
#: `Forecast.sessions` then rebuilds on first use (about 270 bytes a row).
EAGER_SESSION_ROWS = 1_000_000

#: Most paths one run may ask for.
MAX_PATHS = 100_000_000

#: Kernel choices of `run`: "auto" takes the cohort kernel whenever it is exact for the
#: strategy, the per-viewer kernel otherwise.
METHODS = ("auto", "viewer", "cohort")


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


def check_backend(backend: Any, threads: int | None = None, chunk: int | None = None) -> Backend:
    """The backend that ``backend`` names: a `LocalBackend` on ``threads`` threads and
    ``chunk`` paths a kernel call for None or "local", else a `forecast.cluster.DaskBackend`
    (which refuses ``threads`` and ``chunk_paths``: each worker sets its own)."""
    if backend is None or backend == "local":
        return LocalBackend(threads, chunk)
    from forecast.cluster import resolve_backend

    cluster = resolve_backend(backend)
    assert cluster is not None
    for name, value in (("threads", threads), ("chunk_paths", chunk)):
        if value is not None:
            raise v.fail(
                "run",
                name,
                value,
                "must be left out with a Dask backend: each worker uses its share of cores",
            )
    return cluster


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
    from forecast.compile import compile_strategy

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
    return Prepared(strat, compiled, plan, chosen, requested)


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
    ``dask.distributed.Client`` or a `forecast.cluster.DaskBackend` runs the paths as tasks
    on a Dask cluster, with the same bits (`forecast.cluster`). ``threads`` and
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


@dataclass
class Blocks:
    """What the kernel produced for a range of paths (`run_blocks`): whole blocks of
    `BLOCK_PATHS` paths (the last may be short), as table rows."""

    paths: pl.DataFrame
    sessions: pl.DataFrame | None
    totals: np.ndarray
    """[blocks, sessions, len(SUMMARY_COLUMNS)]: each block's session totals, in order."""
    net: np.ndarray | None
    """[paths, sessions]: net sales (CNY) of each path's sessions, when asked for."""
    seconds: float = 0.0
    """Wall-clock seconds the kernel and the tables took, wherever they ran."""


def run_blocks(
    prep: Prepared,
    seed: int,
    lo: int,
    hi: int,
    *,
    keep_sessions: bool,
    session_net: bool = False,
    chunk: int | None = None,
    tick: Callable[[int], None] | None = None,
) -> Blocks:
    """Run the kernel for paths ``lo .. hi - 1`` (``lo`` a multiple of `BLOCK_PATHS`) on the
    current numba threads, block by block (in calls of at most ``chunk`` paths), each block
    turned into table rows and session totals, then dropped. ``tick(n)`` is called after
    every kernel call with the ``n`` paths it finished."""
    import numpy as np
    import polars as pl

    from forecast.tables import (
        SUMMARY_COLUMNS,
        paths_table,
        session_money,
        session_totals,
        sessions_table,
    )
    from kernels import layout as L

    strat, compiled, plan = prep.strategy, prep.compiled, prep.plan
    if chunk is None:
        chunk = DEFAULT_CHUNK if prep.method == "cohort" else DEFAULT_VIEWER_CHUNK
    if prep.method == "cohort":
        from kernels.cohort import run_cohort

        def kernel(first: int, counts: np.ndarray, money: np.ndarray) -> None:
            run_cohort(compiled, plan, seed, first, counts, money)
    else:
        from kernels.viewer import run_paths

        def kernel(first: int, counts: np.ndarray, money: np.ndarray) -> None:
            run_paths(compiled, seed, first, counts, money)

    s = compiled.n_sessions
    step = min(chunk, BLOCK_PATHS)
    started = time.perf_counter()
    path_parts: list[pl.DataFrame] = []
    session_parts: list[pl.DataFrame] = []
    totals: list[np.ndarray] = []
    nets: list[np.ndarray] = []
    for first in range(lo, hi, BLOCK_PATHS):
        m = min(hi, first + BLOCK_PATHS) - first
        counts = np.zeros((m, s, L.N_COUNTS), dtype=np.int64)
        money = np.zeros((m, s, L.N_MONEY), dtype=np.float64)
        for a in range(0, m, step):
            b = min(m, a + step)
            kernel(first + a, counts[a:b], money[a:b])
            if tick is not None:
                tick(b - a)
        path_parts.append(paths_table(strat, first, counts, money))
        if keep_sessions:
            session_parts.append(sessions_table(strat, first, counts, money))
        totals.append(session_totals(strat, counts, money))
        if session_net:
            nets.append(np.ascontiguousarray(session_money(strat, money)["net_sales"]))
    return Blocks(  # the blocks' frames as chunks: copied once, by `forecast_of`
        paths=pl.concat(path_parts, rechunk=False),
        sessions=pl.concat(session_parts, rechunk=False) if keep_sessions else None,
        totals=np.stack(totals) if totals else np.zeros((0, s, len(SUMMARY_COLUMNS))),
        net=np.concatenate(nets) if session_net else None,
        seconds=time.perf_counter() - started,
    )


class Job(Protocol):
    """One strategy's submitted paths (`Backend.submit`)."""

    def parts(self) -> list[Blocks]:
        """Its results, in path order, once gathered."""
        ...

    def release(self) -> None:
        """Drop the results once used."""
        ...


class Backend(Protocol):
    """Where paths run: `LocalBackend` (here) or `forecast.cluster.DaskBackend`."""

    def submit(
        self, prep: Prepared, seed: int, n: int, *, keep_sessions: bool, session_net: bool
    ) -> Job:
        """Paths ``0 .. n - 1`` of ``prep``, to be run."""
        ...

    def gather(
        self,
        jobs: Sequence[Any],
        tick: Callable[[int], None] | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> None:
        """Run (or wait for) ``jobs``: ``tick(paths)`` as paths finish, ``on_done(i)`` once
        job ``i`` has all its results."""
        ...

    def compute(
        self,
        prep: Prepared,
        seed: int,
        n: int,
        *,
        keep_sessions: bool,
        session_net: bool = False,
        tick: Callable[[int], None] | None = None,
    ) -> list[Blocks]:
        """Submit and gather one strategy's paths."""
        ...


@dataclass
class LocalJob:
    """One strategy's paths, to run when `LocalBackend.gather` comes to them."""

    prep: Prepared
    seed: int
    n: int
    keep_sessions: bool
    session_net: bool
    results: list[Blocks] = field(default_factory=list)

    def parts(self) -> list[Blocks]:
        return self.results

    def release(self) -> None:
        """Drop the results once used."""
        self.results = []


@dataclass
class LocalBackend:
    """Runs here, on ``threads`` numba threads (None: all) in kernel calls of ``chunk``
    paths (None: `DEFAULT_CHUNK` or `DEFAULT_VIEWER_CHUNK`). It has the interface of
    `forecast.cluster.DaskBackend`, so `run`, `compare` and `report` have one code path:
    ``submit`` one strategy's paths, ``gather`` a list of them, ``compute`` both at once."""

    threads: int | None = None
    chunk: int | None = None

    def submit(
        self, prep: Prepared, seed: int, n: int, *, keep_sessions: bool, session_net: bool
    ) -> LocalJob:
        return LocalJob(prep, seed, n, keep_sessions, session_net)

    def gather(
        self,
        jobs: Sequence[LocalJob],
        tick: Callable[[int], None] | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> None:
        """Run the jobs one after another; ``tick(paths)`` after every kernel call,
        ``on_done(i)`` once job ``i`` has its results."""
        with _threads(self.threads):
            for i, job in enumerate(jobs):
                part = run_blocks(
                    job.prep,
                    job.seed,
                    0,
                    job.n,
                    keep_sessions=job.keep_sessions,
                    session_net=job.session_net,
                    chunk=self.chunk,
                    tick=tick,
                )
                job.results = [part]
                if on_done is not None:
                    on_done(i)

    def compute(
        self,
        prep: Prepared,
        seed: int,
        n: int,
        *,
        keep_sessions: bool,
        session_net: bool = False,
        tick: Callable[[int], None] | None = None,
    ) -> list[Blocks]:
        """The parts of one strategy's run, in path order."""
        job = self.submit(prep, seed, n, keep_sessions=keep_sessions, session_net=session_net)
        self.gather([job], tick)
        return job.parts()


def session_totals_of(parts: list[Blocks]) -> np.ndarray:
    """The session totals of a run, added block after block in path order from zero, so the
    sum has the same bits however the paths were split into calls, tasks or machines."""
    import numpy as np

    totals = np.zeros(parts[0].totals.shape[1:])
    for part in parts:
        for block in part.totals:
            totals += block
    return totals


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
    parts = (backend or LocalBackend()).compute(prep, seed_value, n, keep_sessions=keep, tick=tick)
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

    from forecast.tables import session_means_table

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
    from forecast.io import FORMAT
    from forecast.strategy_file import strategy_to_dict

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
    )
