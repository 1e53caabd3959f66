"""Where paths run: the `Backend` interface, `LocalBackend` (numba threads here) and
`check_backend`, which resolves what a user names (None, "local", "dask", a client) to one
(`forecast.engine.cluster` holds the Dask one)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from forecast.engine.blocks import Blocks, numba_threads, run_blocks
from forecast.engine.prepare import Prepared
from forecast.model import validation as v


class Job(Protocol):
    """One strategy's submitted paths (`Backend.submit`)."""

    def parts(self) -> list[Blocks]:
        """Its results, in path order, once gathered."""
        ...

    def release(self) -> None:
        """Drop the results once used."""
        ...


class Backend(Protocol):
    """Where paths run: `LocalBackend` (here) or `forecast.engine.cluster.DaskBackend`."""

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
    `forecast.engine.cluster.DaskBackend`, so `run`, `compare` and `report` have one code path:
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
        with numba_threads(self.threads):
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


def check_backend(backend: Any, threads: int | None = None, chunk: int | None = None) -> Backend:
    """The backend that ``backend`` names: a `LocalBackend` on ``threads`` threads and
    ``chunk`` paths a kernel call for None or "local", else a `forecast.engine.cluster.DaskBackend`
    (which refuses ``threads`` and ``chunk_paths``: each worker sets its own)."""
    if backend is None or backend == "local":
        return LocalBackend(threads, chunk)
    if isinstance(backend, LocalBackend) and threads is None and chunk is None:
        return backend  # already resolved (a report hands its backend on)
    from forecast.engine.cluster import resolve_backend

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
