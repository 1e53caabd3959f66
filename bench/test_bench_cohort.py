"""Cohort kernel: `forecast.run` of 10,000 paths of ``mega_then_micro`` (warm cache, 2
threads), and its paths per second against the per-viewer kernel's on the same strategy,
both measured in this run.

    python -m pytest bench -q            # prints the throughput table and ratios at the end
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest

import forecast as fc
from forecast import examples
from forecast.compile import compile_strategy
from kernels import layout as L
from kernels.viewer import run_paths

COHORT_PATHS = 10_000
VIEWER_PATHS = 8
ROUNDS = 5
SEED = 2024


@pytest.fixture(scope="module")
def campaign() -> fc.Strategy:
    return fc.load(examples.path("mega_then_micro"))


def test_cohort_run_10k_paths(benchmark: Any, record: Any, campaign: fc.Strategy) -> None:
    """The whole `forecast.run` call a user makes: compile, kernel, tables."""
    first = fc.run(campaign, paths=COHORT_PATHS, seed=SEED)  # warm the JIT
    assert first.method == "cohort"
    benchmark.pedantic(
        fc.run,
        args=(campaign,),
        kwargs={"paths": COHORT_PATHS, "seed": SEED},
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    median = benchmark.stats.stats.median
    benchmark.extra_info["seconds"] = median
    record("cohort run, mega_then_micro 10k paths, ms", 1000.0 * median)
    record("cohort run, mega_then_micro, paths/s", COHORT_PATHS / median)


def _viewer(c: Any) -> None:
    counts = np.zeros((VIEWER_PATHS, c.n_sessions, L.N_COUNTS), dtype=np.int64)
    money = np.zeros((VIEWER_PATHS, c.n_sessions, L.N_MONEY))
    run_paths(c, SEED, 0, counts, money)


def test_viewer_kernel_same_campaign(benchmark: Any, record: Any, campaign: fc.Strategy) -> None:
    """The per-viewer kernel alone (no compile, no tables) on the same strategy, all threads:
    the ratio against the cohort run is conservative for the cohort kernel."""
    c = compile_strategy(campaign)
    _viewer(c)
    benchmark.pedantic(_viewer, args=(c,), rounds=3, warmup_rounds=0)
    rate = VIEWER_PATHS / benchmark.stats.stats.median
    benchmark.extra_info["paths_per_s"] = rate
    record("viewer kernel, mega_then_micro, paths/s", rate)
    assert numba.get_num_threads() >= 1
