"""Same seed, same result, bit for bit: whatever the thread count, chunking or run size.

Every property is checked for both kernels: the per-viewer kernel on a strategy with two
carried products, the cohort kernel on one it is exact for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

import forecast as fc
from tests.conftest import MASK, micro_then_mega, one_carried

PATHS = 300

KERNELS = pytest.mark.parametrize(
    ("method", "build"), [("viewer", micro_then_mega), ("cohort", one_carried)]
)


@KERNELS
def test_same_seed_identical_and_different_seed_differs(
    method: str, build: Callable[[], fc.Strategy]
) -> None:
    s = build()
    a = fc.run(s, paths=PATHS, seed=1, method=method)
    b = fc.run(s, paths=PATHS, seed=1, method=method)
    c = fc.run(s, paths=PATHS, seed=2, method=method)
    assert a.paths.equals(b.paths)
    assert a.sessions.equals(b.sessions)
    assert not a.paths.equals(c.paths)


@KERNELS
def test_one_and_two_threads_identical(method: str, build: Callable[[], fc.Strategy]) -> None:
    s = build()
    one = fc.run(s, paths=PATHS, seed=3, method=method, threads=1)
    two = fc.run(s, paths=PATHS, seed=3, method=method, threads=2)
    assert one.sessions.equals(two.sessions)


@KERNELS
def test_chunked_and_whole_identical(method: str, build: Callable[[], fc.Strategy]) -> None:
    s = build()
    whole = fc.run(s, paths=PATHS, seed=4, method=method)
    for chunk in (1, 7, 64):
        assert fc.run(s, paths=PATHS, seed=4, method=method, chunk_paths=chunk).sessions.equals(
            whole.sessions
        )


@KERNELS
def test_prefix_property(method: str, build: Callable[[], fc.Strategy]) -> None:
    """Path i of a 100-path run equals path i of a 1,000-path run."""
    s = build()
    small = fc.run(s, paths=100, seed=6, method=method).sessions
    large = fc.run(s, paths=1_000, seed=6, method=method).sessions
    assert large.head(small.height).equals(small)


@KERNELS
def test_numba_num_threads_env_in_fresh_processes(
    method: str, build: Callable[[], fc.Strategy]
) -> None:
    """NUMBA_NUM_THREADS=1 and =2 in separate processes give the same table."""
    code = (
        "import forecast as fc, sys; sys.path.insert(0, '.');"
        f"from tests.conftest import {build.__name__};"
        f"r = fc.run({build.__name__}(), paths=200, seed=7, method={method!r});"
        "print(r.paths.write_json())"
    )
    outs = []
    for n in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=n)
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        )
        outs.append(json.loads(done.stdout))
    assert outs[0] == outs[1]


def test_common_random_numbers_across_strategies() -> None:
    """A session keeps its draws when other sessions change around it: the mega session alone
    and the mega session of a two-session strategy (mega first) are identical."""
    both = micro_then_mega()
    star = both.sessions[2]
    alone = fc.Strategy([star.replace(day=0)], both.market)
    first = fc.Strategy([star.replace(day=0), both.sessions[0].replace(day=1)], both.market)
    a = fc.run(alone, paths=200, seed=9, method="viewer").sessions.filter(session=0)
    b = fc.run(first, paths=200, seed=9, method="viewer").sessions.filter(session=0)
    assert a.equals(b)


def test_cohort_common_random_numbers_across_strategies() -> None:
    """The cohort kernel keeps a session's traffic draw (its largest source of variance)
    whatever surrounds it, and all of its draws when its role in the carried state is the same:
    here the mega session of a two-session strategy, and the same strategy with a third
    session appended that shows another product."""
    s = one_carried()
    two = fc.Strategy(s.sessions[1:3], s.market)
    alone = fc.Strategy([s.sessions[2]], s.market)
    mask_after = s.sessions[3].replace(products=[MASK])
    three = fc.Strategy([*s.sessions[1:3], mask_after], s.market)
    a = fc.run(two, paths=200, seed=9, method="cohort").sessions
    b = fc.run(three, paths=200, seed=9, method="cohort").sessions
    c = fc.run(alone, paths=200, seed=9, method="cohort").sessions
    assert a.filter(session=1).equals(b.filter(session=1))
    assert a.filter(session=0).equals(b.filter(session=0))
    assert a.filter(session=1)["traffic"].equals(c["traffic"])
