"""The hardware reference: a bare parallel loop over the project's random generator.

Draws ``draws_per_path`` uniforms per path from the same counter-based streams the kernels
use, parallel over paths exactly as the kernel is, and sums them (so nothing is optimised
away). Kernel throughput divided by this loop's is what the machine allows for the model's
work on top of random numbers.
"""

from __future__ import annotations

import numba
import numpy as np

from kernels.options import FASTMATH
from kernels.rng import derive, uniform


@numba.njit(parallel=True, cache=False, error_model="numpy", fastmath=set(FASTMATH))
def uniform_sums(seed: np.uint64, n_paths: np.int64, draws_per_path: np.int64) -> np.ndarray:
    """Sum of ``draws_per_path`` uniforms for each of ``n_paths`` paths."""
    out = np.zeros(n_paths)
    for p in numba.prange(n_paths):
        key = derive(seed, p)
        acc = 0.0
        for i in range(draws_per_path):
            acc += uniform(key, i)
        out[p] = acc
    return out
