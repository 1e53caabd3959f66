"""One BLAS thread for calibration's linear algebra.

The fit's matrix products (`observation.products_seen`: a [stay scales x bins] matrix by a
vector) and small batched factorizations (`drift_fit`: hosts' 3-60 x 3-60 covariances) are too
small for a multi-threaded BLAS to help: its threads only oversubscribe the cores, and more so
beside other work. On 2 cores a fit of 300 sessions of 20 hosts took 5.6-5.8 CPU-s with
OpenBLAS's two threads and 3.0-3.2 CPU-s with one (wall 3.1 s against 2.3-2.5 s). One thread
also makes a fit's bits independent of how many threads BLAS would have chosen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from threadpoolctl import threadpool_limits

P = ParamSpec("P")
R = TypeVar("R")


def one_blas_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` with BLAS (OpenBLAS, MKL, BLIS) held to one thread while it runs, restored after."""

    @functools.wraps(fn)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapped
