"""Same seed, same result, bit for bit: whatever the thread count, chunking or run size."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import forecast as fc
from tests.conftest import micro_then_mega

PATHS = 300


def test_same_seed_identical_and_different_seed_differs() -> None:
    s = micro_then_mega()
    a = fc.run(s, paths=PATHS, seed=1)
    b = fc.run(s, paths=PATHS, seed=1)
    c = fc.run(s, paths=PATHS, seed=2)
    assert a.paths.equals(b.paths)
    assert a.sessions.equals(b.sessions)
    assert not a.paths.equals(c.paths)


def test_one_and_two_threads_identical() -> None:
    s = micro_then_mega()
    one = fc.run(s, paths=PATHS, seed=3, threads=1)
    two = fc.run(s, paths=PATHS, seed=3, threads=2)
    assert one.sessions.equals(two.sessions)


def test_chunked_and_whole_identical() -> None:
    s = micro_then_mega()
    whole = fc.run(s, paths=PATHS, seed=4)
    for chunk in (1, 7, 64):
        assert fc.run(s, paths=PATHS, seed=4, chunk_paths=chunk).sessions.equals(whole.sessions)


def test_prefix_property() -> None:
    """Path i of a 100-path run equals path i of a 1,000-path run."""
    s = micro_then_mega()
    small = fc.run(s, paths=100, seed=6).sessions
    large = fc.run(s, paths=1_000, seed=6).sessions
    assert large.head(small.height).equals(small)


def test_numba_num_threads_env_in_fresh_processes() -> None:
    """NUMBA_NUM_THREADS=1 and =2 in separate processes give the same table."""
    code = (
        "import forecast as fc, sys; sys.path.insert(0, '.');"
        "from tests.conftest import micro_then_mega;"
        "r = fc.run(micro_then_mega(), paths=200, seed=7);"
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
            cwd=os.path.dirname(os.path.dirname(__file__)),
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
    a = fc.run(alone, paths=200, seed=9).sessions.filter(session=0)
    b = fc.run(first, paths=200, seed=9).sessions.filter(session=0)
    assert a.equals(b)
