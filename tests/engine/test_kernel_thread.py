"""Kernels run on one thread per process, reused by every call (`engine.blocks._runner`):
many runs leave one kernel thread, errors of a kernel still reach the caller, and a forked
child gets a thread of its own."""

from __future__ import annotations

import multiprocessing as mp
import threading

import numpy as np
import pytest

import forecast as fc
from forecast.engine import blocks
from tests.conftest import micro_then_mega


def kernel_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "forecast-kernel"]


def test_runs_share_one_kernel_thread() -> None:
    strategy = micro_then_mega()
    first = fc.run(strategy, paths=50, seed=1, chunk_paths=10)  # 5 kernel calls
    runner = blocks._runner()
    for seed in range(2, 5):
        fc.run(strategy, paths=50, seed=seed, chunk_paths=10)
    assert blocks._runner() is runner
    assert kernel_threads() == [runner.thread]
    again = fc.run(strategy, paths=50, seed=1, chunk_paths=25)
    assert again.paths.equals(first.paths)  # reuse and chunking never change bits


def test_a_kernel_error_reaches_the_caller_and_the_thread_goes_on() -> None:
    def broken(x: np.ndarray, stop: np.ndarray) -> None:
        raise ZeroDivisionError("inside the kernel")

    with pytest.raises(ZeroDivisionError, match="inside the kernel"):
        blocks.interruptible(broken, np.zeros(1))
    seen: list[int] = []
    blocks.interruptible(lambda x, stop: seen.append(int(stop[0])), np.zeros(1))
    assert seen == [0]
    assert not blocks._KERNEL_LOCK.locked()


def _child(out: mp.Queue) -> None:  # type: ignore[type-arg]
    seen: list[str] = []
    blocks.interruptible(lambda stop: seen.append(threading.current_thread().name))
    out.put((seen, blocks._runner().pid))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork here")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_its_own_kernel_thread() -> None:
    blocks._runner()  # the parent's thread exists before the fork
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child, args=(out,))
    child.start()
    seen, pid = out.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    assert seen == ["forecast-kernel"]
    assert pid == child.pid
