"""Peak memory of a 1,000,000-path cohort run, measured in the process that runs it.

    python -m bench.memory_probe        # prints one JSON line

Runs ``mega_then_micro`` on 1,000,000 paths with its summary and session summary, and a
1,000-path run of the same seed to check the prefix property. Used by the memory benchmark
(`bench/test_bench_startup.py`) and by the test of the 1 GiB bound
(`tests/engine/test_large_runs.py`), each in a fresh process so the peak is this run's own.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import forecast as fc
from forecast import examples

PATHS = 1_000_000
SEED = 25


def peak_bytes() -> int:
    """This process's peak resident memory, bytes: ``VmHWM`` of ``/proc/self/status`` on
    Linux, which a new program starts from zero. ``getrusage``'s ``ru_maxrss`` is no good
    in a child process: Linux carries it over from the parent at fork, so a probe started
    by a large process (a test session, say) would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:  # not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main() -> None:
    s = fc.load(examples.path("mega_then_micro"))
    r = fc.run(s, paths=PATHS, seed=SEED)
    r.summary()
    r.session_summary()
    small = fc.run(s, paths=1_000, seed=SEED)
    print(
        json.dumps(
            {
                "method": r.method,
                "rows": r.paths.height,
                "prefix": r.paths.head(small.n_paths).equals(small.paths),
                "kept_sessions": r._sessions is not None,
                "peak_bytes": peak_bytes(),
            }
        )
    )


if __name__ == "__main__":
    main()
