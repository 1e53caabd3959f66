"""Per-viewer kernel throughput on a mega session (``mega_only``, 3.6 M viewers a path), on
1 and 2 threads, side by side with the hardware reference: a bare loop drawing from the
project's random generator (`bench.bare_loop`), on the same threads.

    python -m pytest bench -q            # figures and ratios are printed at the end
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest

from bench.bare_loop import uniform_sums
from bench.conftest import interleaved, sized
from kernels import layout as L
from kernels.viewer import run_paths

PATHS = sized(8, 2)
SEED = 2024
#: uniforms the bare loop draws per call (parallel over PATHS streams)
DRAWS = sized(40_000_000, 4_000_000)
#: numba's thread pool size here
THREADS = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def kernel_views(c: Any, threads: int, paths: int = PATHS) -> int:
    """Run the per-viewer kernel on ``paths`` paths of ``c`` on ``threads`` threads; the
    number of viewers simulated (the same on every call: the seed is fixed)."""
    counts = np.zeros((paths, c.n_sessions, L.N_COUNTS), dtype=np.int64)
    money = np.zeros((paths, c.n_sessions, L.N_MONEY))
    numba.set_num_threads(threads)
    try:
        run_paths(c, SEED, 0, counts, money)
    finally:
        numba.set_num_threads(THREADS)
    return int(counts[:, :, L.VIEWS].sum())


def generator(threads: int) -> None:
    """`DRAWS` uniforms from the project's generator on ``threads`` threads."""
    numba.set_num_threads(threads)
    try:
        uniform_sums(np.uint64(SEED), np.int64(PATHS), np.int64(DRAWS // PATHS))
    finally:
        numba.set_num_threads(THREADS)


def _need_two_threads() -> None:
    if THREADS < 2:
        pytest.skip("numba has fewer than 2 threads here")


def test_viewer_kernel_one_thread(
    benchmark: Any, record: Any, record_ratio: Any, mega: Any
) -> None:
    views = kernel_views(mega, 1)  # warm both, and learn the work size
    generator(1)
    r = interleaved(benchmark, lambda: kernel_views(mega, 1), {"generator": lambda: generator(1)})
    record("per-viewer kernel, mega_only, 1 thread", views / r.median() / 1e6, "M viewers/s")
    record("bare generator loop, 1 thread", DRAWS / r.median("generator") / 1e6, "M uniforms/s")
    record_ratio(
        "per-viewer kernel vs generator loop, 1 thread", views / DRAWS * r.ratio("generator", None)
    )


def test_viewer_kernel_two_threads(
    benchmark: Any, record: Any, record_ratio: Any, mega: Any
) -> None:
    _need_two_threads()
    views = kernel_views(mega, 2)
    generator(2)
    r = interleaved(
        benchmark,
        lambda: kernel_views(mega, 2),
        {"one thread": lambda: kernel_views(mega, 1), "generator": lambda: generator(2)},
    )
    record("per-viewer kernel, mega_only, 2 threads", views / r.median() / 1e6, "M viewers/s")
    record("bare generator loop, 2 threads", DRAWS / r.median("generator") / 1e6, "M uniforms/s")
    record_ratio(
        "per-viewer kernel vs generator loop, 2 threads", views / DRAWS * r.ratio("generator", None)
    )
    record_ratio("per-viewer kernel, 2 threads vs 1", r.ratio("one thread", None))
