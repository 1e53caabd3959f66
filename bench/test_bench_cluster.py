"""The Dask backend on this machine: a 200-campaign portfolio (10,000 paths each) simulated
on 1 and on 2 worker processes of one core each, against the same work done here on 1 and 2
numba threads; the speed-up, the cost of a task, and the workers' warm-up.

Minutes long and judged by nothing, so `python -m bench.gate` leaves it out; run it alone:
``python -m pytest bench/test_bench_cluster.py -q`` (``FORECAST_BENCH_CAMPAIGNS=40`` for a
quicker look). What is timed is the campaigns' tasks, as `forecast.report` submits them
(all at once, net sales per session kept for the fan charts); the report's own files and
figures are drawn by the client and do not change with the workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bench.conftest import sized, timed
from bench.report_probe import portfolio
from forecast.engine.blocks import numba_threads, run_blocks
from forecast.engine.prepare import Prepared, prepare

distributed = pytest.importorskip("distributed")

CAMPAIGNS = int(os.environ.get("FORECAST_BENCH_CAMPAIGNS", str(sized(200, 4))))
PATHS = sized(10_000, 2_000)
SEED = 27
TINY_TASKS = sized(200, 10)


@contextmanager
def _backend(workers: int) -> Iterator[Any]:
    """``workers`` worker processes of one core (one Dask thread, one numba thread) each."""
    from forecast.engine.cluster import DaskBackend

    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env={"NUMBA_NUM_THREADS": "1"},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield DaskBackend(client)


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _here(prepared: list[Prepared], threads: int) -> None:
    with numba_threads(threads):
        for p in prepared:
            run_blocks(p, SEED, 0, PATHS, keep_sessions=False, session_net=True)


def _there(backend: Any, prepared: list[Prepared], paths: int = PATHS) -> None:
    jobs = [backend.submit(p, SEED, paths, keep_sessions=False, session_net=True) for p in prepared]
    backend.gather(jobs)


def test_one_and_two_workers(benchmark: Any, record: Any) -> None:
    pf = portfolio(CAMPAIGNS, PATHS)
    prepared = [prepare(c.strategy, pf.method) for c in pf.campaigns]
    _here(prepared[:7], 1)  # kernels loaded here
    local = {}
    for threads in (1, 2):
        started = time.perf_counter()
        _here(prepared, threads)
        local[threads] = time.perf_counter() - started
    cluster: dict[int, float] = {}
    tiny: dict[int, float] = {}
    warm: list[float] = []
    tasks = 0
    for workers in (1, 2):
        with _backend(workers) as backend:
            warm += [max(t.values()) for t in backend.warm().values()]

            def work(b: Any = backend) -> None:
                _there(b, prepared)

            if workers == 2:
                cluster[2] = timed(benchmark, work)[1]
            else:
                cluster[1] = _timed(work)
            started = time.perf_counter()
            _there(backend, [prepared[0]] * TINY_TASKS, paths=1)
            tiny[workers] = time.perf_counter() - started
            tasks = sum(-(-PATHS // backend.task_paths) for _ in prepared)
    record(f"{CAMPAIGNS} campaigns here, 1 numba thread", local[1], "s")
    record(f"{CAMPAIGNS} campaigns here, 2 numba threads", local[2], "s")
    record(f"{CAMPAIGNS} campaigns on 1 worker (1 core)", cluster[1], "s")
    record(f"{CAMPAIGNS} campaigns on 2 workers (1 core each)", cluster[2], "s")
    record("speed-up, 2 workers vs 1", cluster[1] / cluster[2], "x")
    record("2 workers vs 2 threads here (time ratio)", cluster[2] / local[2], "x")
    record(f"tasks of the portfolio ({PATHS:,} paths a campaign)", tasks, "tasks")
    record(
        "cost of a task: (1 worker - here, 1 thread) / tasks", (cluster[1] - local[1]) / tasks, "s"
    )
    record(
        f"round trip of a one-path task, 1 worker ({TINY_TASKS} tasks)", tiny[1] / TINY_TASKS, "s"
    )
    record(
        f"round trip of a one-path task, 2 workers ({TINY_TASKS} tasks)", tiny[2] / TINY_TASKS, "s"
    )
    record("worker warm-up (kernels from the disk cache), slowest", max(warm), "s")
