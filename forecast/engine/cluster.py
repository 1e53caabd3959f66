"""Runs on a Dask cluster (``pip install 'forecast[cluster]'``): paths split into tasks.

``forecast.run(..., backend=...)``, ``forecast.analysis.compare`` and ``forecast.report`` take
``backend``: None or ``"local"`` (numba threads in this process, the default), ``"dask"``
(the current `dask.distributed` client), a ``dask.distributed.Client``, or a `DaskBackend`
(to set the paths per task). On the command line, ``--cluster ADDRESS`` connects to a
running scheduler and ``--workers N`` starts a local cluster of N worker processes.

What a task is. A strategy's paths are cut into ranges of ``task_paths`` paths (a multiple
of `forecast.engine.blocks.BLOCK_PATHS`); each range is one task, which runs the same code as a
local run (`forecast.engine.blocks.run_blocks`) and returns its table rows and per-block session
totals. The client puts the ranges back in path order and adds the totals block after block,
so every table and summary has the same bits as a local run with the same seed, whatever the
number of workers, tasks or retries: the random streams are keyed by (seed, path, session),
never by who computes them. A report's campaigns are split the same way, all submitted at
once.

Workers. Each task sets numba's threads to its worker's share of cores (the worker's
``nthreads``) and holds a lock of its process while it runs, so a worker never runs more
numba threads than its share, whatever its number of Dask threads. Before the first task,
every worker loads the compiled kernels from numba's on-disk cache (`warm_up`, timed): with
the cache in place that takes about a second, without it the compile takes 20-60 s once
per machine (point ``NUMBA_CACHE_DIR`` at a shared directory to pay it once).

Failures. Results are gathered to the client as each task finishes, so a finished task is
never lost with its worker. A worker that dies mid-run has its running tasks rescheduled on
the others by the scheduler (up to ``distributed.scheduler.allowed-failures`` deaths per
task), and they compute the same bits again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from forecast.model import validation as v

if TYPE_CHECKING:
    from forecast.engine.blocks import Blocks
    from forecast.engine.prepare import Prepared

#: Paths per task unless set: 4 blocks; about 0.1 s of cohort work, seconds of per-viewer.
DEFAULT_TASK_PATHS = 16_384

_KERNEL_LOCK = threading.Lock()

#: Workers warmed through each client (by client id): seconds of `warm_up` per worker.
_WARMED: dict[str, dict[str, dict[str, float]]] = {}


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:  # pragma: no cover - the extra is part of the dev install
        raise v.fail(
            "run",
            "backend",
            "dask",
            "needs Dask: pip install 'forecast[cluster]' (dask.distributed)",
        ) from None
    return distributed


@contextlib.contextmanager
def worker_share() -> Iterator[int]:
    """On a Dask worker: numba's threads set to the worker's ``nthreads`` (its share of
    cores), and this process's kernels run one task at a time. Yields the thread count."""
    import numba

    from forecast.engine.blocks import numba_threads

    try:
        from distributed import get_worker

        share = int(get_worker().state.nthreads)
    except (ImportError, ValueError):  # not on a worker: keep this process's setting
        share = numba.get_num_threads()
    share = max(1, min(share, int(numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    with _KERNEL_LOCK, numba_threads(share):
        yield share


def _task(
    prep: Prepared, seed: int, lo: int, hi: int, keep_sessions: bool, session_net: bool
) -> Blocks:
    """One task: paths ``lo .. hi - 1`` of a prepared strategy, on the worker's share."""
    from forecast.engine.blocks import run_blocks

    with worker_share():
        return run_blocks(prep, seed, lo, hi, keep_sessions=keep_sessions, session_net=session_net)


def warm_up() -> dict[str, float]:
    """Load both kernels in this process (from numba's cache, or compiling them) by running
    one path of a bundled example on each; returns the seconds each took."""
    from forecast import examples
    from forecast.engine.blocks import run_blocks
    from forecast.engine.prepare import prepare
    from forecast.model.strategy_file import load

    strategy = load(examples.path("one_mid_influencer"))
    took = {}
    with worker_share():
        for method in ("cohort", "viewer"):
            started = time.perf_counter()
            run_blocks(prepare(strategy, method), 0, 0, 1, keep_sessions=False)
            took[method] = time.perf_counter() - started
    return took


#: Paths whose tasks `DaskBackend.gather` keeps submitted at once (beyond the first job's):
#: the client holds at most about this many paths of results that are not yet used (a path
#: row is about 200 bytes), so a book of 20 campaigns x 1,000,000 paths never has all its
#: path tables on the client, while tens of tasks stay queued for every worker.
IN_FLIGHT_PATHS = 2_000_000


@dataclass
class Submitted:
    """One strategy's tasks, in path order: started (its futures made) by
    `DaskBackend.gather` when the in-flight window has room, and their results as they
    come."""

    launch: Callable[[], list[Any]]
    sizes: list[int]
    futures: list[Any] = field(default_factory=list)
    results: list[Blocks | None] = field(default_factory=list)
    started: bool = False

    def start(self) -> list[Any]:
        """Submit the tasks (once); returns their futures."""
        if not self.started:
            self.futures = self.launch()
            self.results = [None] * len(self.futures)
            self.started = True
        return self.futures

    @property
    def paths(self) -> int:
        return sum(self.sizes)

    @property
    def done(self) -> bool:
        return self.started and all(r is not None for r in self.results)

    def release(self) -> None:
        """Drop the results (once used), keeping the job marked done."""
        self.results = []
        self.futures = []

    def parts(self) -> list[Blocks]:
        out = [r for r in self.results if r is not None]
        assert len(out) == len(self.futures)
        return out


@dataclass
class DaskBackend:
    """Tasks on a ``dask.distributed.Client``; ``task_paths`` paths per task (rounded up to
    a multiple of `forecast.engine.blocks.BLOCK_PATHS`). ``warm_up_s``: seconds each worker took to
    load the kernels, after `warm`."""

    client: Any
    task_paths: int = DEFAULT_TASK_PATHS
    warm_up_s: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from forecast.engine.blocks import BLOCK_PATHS

        size = v.integer("backend", "task_paths", self.task_paths, 1)
        self.task_paths = -(-size // BLOCK_PATHS) * BLOCK_PATHS

    def warm(self) -> dict[str, dict[str, float]]:
        """`warm_up` on every worker not yet warmed through this client (a task pinned to
        each, in parallel); returns and keeps each worker's seconds. A worker that joins or
        restarts later loads the kernels with its first task."""
        done = _WARMED.setdefault(self.client.id, {})
        workers = [w for w in self.client.scheduler_info()["workers"] if w not in done]
        futures = {
            w: self.client.submit(warm_up, workers=[w], allow_other_workers=False, pure=False)
            for w in workers
        }
        done.update({w: f.result() for w, f in futures.items()})
        self.warm_up_s = dict(done)
        return self.warm_up_s

    def submit(
        self, prep: Prepared, seed: int, n: int, *, keep_sessions: bool, session_net: bool
    ) -> Submitted:
        """The tasks of one strategy's ``n`` paths, submitted when `gather` starts them."""
        ranges = [(lo, min(n, lo + self.task_paths)) for lo in range(0, n, self.task_paths)]

        def launch() -> list[Any]:
            if not self.warm_up_s:
                self.warm()
            # the prepared strategy (tens of kB) travels inside each task rather than
            # scattered once: a scattered copy dies with its worker, a task's own arguments
            # never do
            return [
                self.client.submit(
                    _task, prep, seed, lo, hi, keep_sessions, session_net, pure=False
                )
                for lo, hi in ranges
            ]

        return Submitted(launch, [hi - lo for lo, hi in ranges])

    def gather(
        self,
        jobs: Sequence[Submitted],
        tick: Callable[[int], None] | None = None,
        on_done: Callable[[int], None] | None = None,
        in_flight_paths: int = IN_FLIGHT_PATHS,
    ) -> None:
        """Wait for every task of ``jobs``, moving each result to the client as it finishes
        (its worker may then die without losing it); ``tick(paths)`` per finished task,
        ``on_done(i)`` once job ``i`` has all its results. Jobs are started in order while
        the paths of started, unfinished jobs are under ``in_flight_paths`` (always at
        least one), so the client never holds more than that window of results a caller
        releases in ``on_done``. Ctrl-C cancels what is left."""
        distributed = _distributed()
        where: dict[Any, tuple[int, int]] = {}
        pending = distributed.as_completed()
        launched: list[Any] = []
        state = {"next": 0, "open": 0}  # next job to start, paths started and not done

        def start_more() -> None:
            while state["next"] < len(jobs) and (
                state["open"] == 0 or state["open"] + jobs[state["next"]].paths <= in_flight_paths
            ):
                i = state["next"]
                for j, f in enumerate(jobs[i].start()):
                    where[f.key] = (i, j)
                    pending.add(f)
                    launched.append(f)
                state["open"] += jobs[i].paths
                state["next"] += 1

        try:
            start_more()
            for future in pending:
                i, j = where.pop(future.key)
                jobs[i].results[j] = future.result()
                future.release()
                if tick is not None:
                    tick(jobs[i].sizes[j])
                if jobs[i].done:
                    if on_done is not None:
                        on_done(i)
                    state["open"] -= jobs[i].paths
                    start_more()
        except BaseException:
            self.client.cancel(launched)
            raise

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
        """The parts of one strategy's run, in path order (`forecast.engine.backends.Backend`)."""
        job = self.submit(prep, seed, n, keep_sessions=keep_sessions, session_net=session_net)
        self.gather([job], tick)
        return job.parts()


def resolve_backend(backend: Any, owner: str = "run") -> DaskBackend | None:
    """None for a local run; else the `DaskBackend` that ``backend`` names."""
    if backend is None or backend == "local":
        return None
    if isinstance(backend, DaskBackend):
        return backend
    if backend == "dask":
        distributed = _distributed()
        try:
            return DaskBackend(distributed.default_client())
        except ValueError:
            raise v.fail(
                owner,
                "backend",
                backend,
                "needs a running dask.distributed Client: create one (Client(address), or "
                "Client(LocalCluster())) or pass it as backend",
            ) from None
    if not isinstance(backend, str):
        distributed = _distributed()
        if isinstance(backend, distributed.Client):
            return DaskBackend(backend)
    raise v.fail(
        owner,
        "backend",
        backend,
        "one of None, 'local', 'dask', a dask.distributed.Client or a forecast DaskBackend",
    )


@contextlib.contextmanager
def command_line_backend(address: str | None, workers: int | None) -> Iterator[Any]:
    """The backend of ``--cluster ADDRESS`` / ``--workers N``: a client of the scheduler at
    ``address``, or a local cluster of ``workers`` processes (closed at the end), the cores
    shared equally among them (each worker's ``nthreads``, and its numba threads); None for
    neither."""
    if address is None and workers is None:
        yield None
        return
    distributed = _distributed()
    if address is not None:
        with distributed.Client(address) as client:
            yield DaskBackend(client)
        return
    import os

    assert workers is not None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = max(1, (cores or 1) // workers)
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=share,
            processes=True,
            dashboard_address=":0",  # any free port: never clashes with another cluster
            env={"NUMBA_NUM_THREADS": str(share)},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield DaskBackend(client)
