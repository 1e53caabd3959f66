"""Per-viewer kernel throughput for a mega session, on 1 and 2 threads, against a bare loop
of the same random generator measured in the same run.

    python -m pytest bench -q            # prints the throughput table at the end
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest

import forecast as fc
from bench.bare_loop import uniform_sums
from forecast import examples
from forecast.compile import compile_strategy
from kernels import layout as L
from kernels.viewer import run_paths

PATHS = 16
ROUNDS = 5
SEED = 2024


@pytest.fixture(scope="module")
def mega() -> Any:
    return compile_strategy(fc.load(examples.path("mega_only")))


def _kernel(c: Any, threads: int) -> int:
    counts = np.zeros((PATHS, c.n_sessions, L.N_COUNTS), dtype=np.int64)
    money = np.zeros((PATHS, c.n_sessions, L.N_MONEY))
    run_paths(c, SEED, 0, counts, money)
    return int(counts[:, :, L.VIEWS].sum())


@pytest.mark.parametrize("threads", [1, 2])
def test_viewer_kernel_mega_session(benchmark: Any, record: Any, mega: Any, threads: int) -> None:
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("machine has fewer threads")
    numba.set_num_threads(threads)
    try:
        views = _kernel(mega, threads)  # warm the JIT and learn the work size
        benchmark.pedantic(_kernel, args=(mega, threads), rounds=ROUNDS, warmup_rounds=1)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    rate = views / benchmark.stats.stats.median
    benchmark.extra_info["viewers_per_s"] = rate
    record(f"viewer kernel, viewers/s, {threads} thread(s)", rate)


@pytest.mark.parametrize("threads", [1, 2])
def test_bare_generator_loop(benchmark: Any, record: Any, threads: int) -> None:
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("machine has fewer threads")
    draws = 20_000_000
    numba.set_num_threads(threads)
    try:
        uniform_sums(np.uint64(SEED), PATHS, 10)
        benchmark.pedantic(
            uniform_sums,
            args=(np.uint64(SEED), PATHS, draws // PATHS),
            rounds=ROUNDS,
            warmup_rounds=1,
        )
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    rate = draws / benchmark.stats.stats.median
    benchmark.extra_info["uniforms_per_s"] = rate
    record(f"bare generator, uniforms/s, {threads} thread(s)", rate)
