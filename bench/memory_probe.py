"""Peak memory of a 1,000,000-path cohort run, measured in the process that runs it.

    python -m bench.memory_probe        # prints one JSON line

Runs ``mega_then_micro`` on 1,000,000 paths with its summary and session summary, and a
1,000-path run of the same seed to check the prefix property. Used by the memory benchmark
(`bench/test_bench_startup.py`) and by the test of the 1 GiB bound
(`tests/test_large_runs.py`), each in a fresh process so the peak is this run's own.
"""

from __future__ import annotations

import json
import resource

import forecast as fc
from forecast import examples

PATHS = 1_000_000
SEED = 25


def main() -> None:
    s = fc.load(examples.path("mega_then_micro"))
    r = fc.run(s, paths=PATHS, seed=SEED)
    r.summary()
    r.session_summary()
    small = fc.run(s, paths=1_000, seed=SEED)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "method": r.method,
                "rows": r.paths.height,
                "prefix": r.paths.head(small.n_paths).equals(small.paths),
                "kept_sessions": r._sessions is not None,
                "peak_bytes": peak_kib * 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
