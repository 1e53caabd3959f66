"""The one place that decides numba compile options for every kernel.

* ``cache=True``: compiled machine code is written next to the sources (``__pycache__``)
  so a second process starts warm.
* ``error_model="numpy"``: division by zero gives inf/nan instead of raising inside a kernel;
  inputs are validated in Python before they get here.
* ``fastmath``: only the flags that cannot change the result of a finite computation in a
  way that matters here: no ``nnan``/``ninf`` (we rely on nan/inf semantics) and no
  ``reassoc`` (reductions must keep their order so results are bit-identical across
  thread counts; stumpy dropped ``reassoc`` after precision failures).
"""

from __future__ import annotations

from typing import Any

import numba

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn"})

_COMMON: dict[str, Any] = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": set(FASTMATH),
}


def jit(func: Any) -> Any:
    """Compile a serial kernel with the project's options."""
    return numba.njit(**_COMMON)(func)


def pjit(func: Any) -> Any:
    """Compile a kernel whose ``numba.prange`` loops run on the thread pool."""
    return numba.njit(parallel=True, **_COMMON)(func)
