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

import hashlib
from pathlib import Path
from typing import Any

import numba

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn"})

_STAMP = "kernels-sources.sha256"


def drop_stale_cache(package: Path = Path(__file__).parent) -> bool:
    """Delete this package's cached machine code if any kernel source changed since it was
    written; returns whether it did.

    Numba keys a function's cache on its own file only: a kernel in ``viewer.py`` inlines
    ``rng.py`` and ``samplers.py``, and an edit to those alone would leave stale machine code
    in place. A digest of every kernel source, kept beside the cache, closes that hole. Runs
    once, when the kernels are first imported (never at ``import forecast``).
    """
    digest = hashlib.sha256()
    for src in sorted(package.glob("*.py")):
        digest.update(src.name.encode() + b"\0" + src.read_bytes())
    cache = package / "__pycache__"
    stamp = cache / _STAMP
    try:
        if stamp.read_text() == digest.hexdigest():
            return False
    except OSError:
        pass
    for f in (*cache.glob("*.nbi"), *cache.glob("*.nbc")):
        f.unlink(missing_ok=True)
    try:
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:  # read-only install: numba falls back to its user-wide cache
        pass
    return True


drop_stale_cache()

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
