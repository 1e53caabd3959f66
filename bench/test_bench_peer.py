"""The per-viewer kernel against the plain-NumPy peer (`bench.numpy_peer`) on the same mega
session, in viewers per second, side by side. The peer is checked to simulate the kernel's
distribution in ``tests/engine/test_numpy_peer.py``.

NumPy runs on one core, so the gated ratio is the kernel on 1 thread against it; the kernel
on all threads is reported too.
"""

from __future__ import annotations

from typing import Any

from bench.conftest import interleaved, sized
from bench.numpy_peer import simulate
from bench.test_bench_viewer import SEED, THREADS, kernel_views
from kernels import layout as L

PATHS = sized(4, 1)


def peer_views(c: Any) -> int:
    """Run the NumPy peer on `PATHS` paths (fixed seed); the number of viewers simulated."""
    counts, _ = simulate(c, PATHS, SEED)
    return int(counts[:, :, L.VIEWS].sum())


def test_kernel_vs_numpy_peer(benchmark: Any, record: Any, record_ratio: Any, mega: Any) -> None:
    threads = THREADS
    peer = peer_views(mega)  # warm, and learn the work sizes (fixed seed: fixed work)
    kern = kernel_views(mega, threads, PATHS)
    r = interleaved(
        benchmark,
        lambda: peer_views(mega),
        {
            "kernel 1 thread": lambda: kernel_views(mega, 1, PATHS),
            "kernel all threads": lambda: kernel_views(mega, threads, PATHS),
        },
    )
    record("NumPy peer, mega_only", peer / r.median() / 1e6, "M viewers/s")
    work = kern / peer  # viewers per kernel call / viewers per peer call
    record_ratio(
        "per-viewer kernel (1 thread) vs NumPy peer, viewers/s",
        work * r.ratio(None, "kernel 1 thread"),
    )
    record(
        f"per-viewer kernel ({threads} threads) vs NumPy peer",
        work * r.ratio(None, "kernel all threads"),
        "x",
    )
