"""Blocks of paths: the kernel run over a range of paths, block by block, each block turned
into table rows and session totals (`run_blocks`); the same code runs here and on a Dask
worker."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from forecast.engine.prepare import Prepared


#: Paths the kernel fills before they become table rows: bounds the kernel's output arrays,
#: and fixes the order of the session totals, so chunking and threads never change a result.
BLOCK_PATHS = 4096

#: Paths per kernel call when the caller does not choose (never changes a result): a
#: block for the cohort kernel; fewer for the per-viewer kernel, whose paths can take
#: seconds each, so that progress is reported and Ctrl-C is seen between calls.
DEFAULT_CHUNK = BLOCK_PATHS
DEFAULT_VIEWER_CHUNK = 32


#: Seconds `interruptible` waits for a stopped kernel to return before it lets it go.
STOP_WAIT_S = 10.0

#: Held while a kernel runs: numba's workqueue threading layer must never be entered by two
#: threads at once, and a kernel let go after Ctrl-C may still be finishing.
_KERNEL_LOCK = threading.Lock()


class _Runner:
    """The one thread kernels run on, started once per process and reused by every call (a
    thread a call cost 0.1-0.3 ms more, and its numba thread state with it)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="forecast-kernel", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            self.jobs.get()()  # each job catches its own errors


_RUNNER: _Runner | None = None
_RUNNER_GUARD = threading.Lock()


def _runner() -> _Runner:
    """The process's kernel thread (a new one in a forked child, where the parent's thread
    does not exist)."""
    global _RUNNER
    with _RUNNER_GUARD:
        if _RUNNER is None or _RUNNER.pid != os.getpid() or not _RUNNER.thread.is_alive():
            _RUNNER = _Runner()
        return _RUNNER


def interruptible(kernel: Callable[..., None], *args: Any) -> None:
    """Call ``kernel(*args, stop)`` on the process's kernel thread, on this thread's numba
    thread count, and wait for it so that Ctrl-C is seen at once: on KeyboardInterrupt
    ``stop[0]`` is set, which the kernels read between bins and paths and return soon after,
    and the interrupt goes on up (the partial output is never used). An error of the kernel
    is raised here."""
    import numba
    import numpy as np

    stop = np.zeros(1, dtype=np.int64)
    threads = numba.get_num_threads()
    errors: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            numba.set_num_threads(threads)
            kernel(*args, stop)
        except BaseException as err:  # handed to the waiting thread
            errors.append(err)
        finally:
            _KERNEL_LOCK.release()
            done.set()

    runner = _runner()
    _KERNEL_LOCK.acquire()
    try:
        runner.jobs.put(work)
    except BaseException:
        _KERNEL_LOCK.release()
        raise
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop[0] = 1
        done.wait(STOP_WAIT_S)
        raise
    if errors:
        raise errors[0]


@contextlib.contextmanager
def numba_threads(n: int | None) -> Iterator[None]:
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

    from forecast.engine.tables import (
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
            interruptible(run_cohort, compiled, plan, seed, first, counts, money)
    else:
        from kernels.viewer import run_paths

        def kernel(first: int, counts: np.ndarray, money: np.ndarray) -> None:
            interruptible(run_paths, compiled, seed, first, counts, money)

    from forecast.engine.limits import check_outputs

    labels = [str(x.label) for x in strat.sessions]
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
        check_outputs(counts, money, first, labels)
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


def session_totals_of(parts: list[Blocks]) -> np.ndarray:
    """The session totals of a run, added block after block in path order from zero, so the
    sum has the same bits however the paths were split into calls, tasks or machines."""
    import numpy as np

    totals = np.zeros(parts[0].totals.shape[1:])
    for part in parts:
        for block in part.totals:
            totals += block
    return totals
