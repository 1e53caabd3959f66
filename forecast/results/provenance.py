"""Where a result came from: package versions and a digest of the code that computed it."""

from __future__ import annotations

import functools
import hashlib
import platform
from pathlib import Path

#: Distributions whose versions are recorded with every result.
DISTRIBUTIONS = ("forecast", "numba", "numpy", "polars", "pyarrow")


@functools.cache
def versions() -> dict[str, str]:
    """Python's version and those of `DISTRIBUTIONS` ("unknown" when not installed)."""
    from importlib import metadata as importlib_metadata

    out = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            out[dist] = "unknown"
    return out


@functools.cache
def code_digest() -> str:
    """SHA-256 (hex) of every source file of the ``forecast`` and ``kernels`` packages: two
    runs with the same digest, seed and inputs give the same numbers. A report resumed after
    the code changed recomputes the campaigns it kept (`forecast.reporting.builder`)."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in ("forecast", "kernels"):
        for src in sorted((root / package).rglob("*.py")):
            name = src.relative_to(root).as_posix()
            digest.update(name.encode() + b"\0" + src.read_bytes())
    return digest.hexdigest()
