"""Peak memory and time of a 200-campaign x 10,000-path report, in the process that runs it.

    python -m bench.report_probe [--campaigns N] [--paths P] [--workers W]   # one JSON line

The campaigns cycle through the bundled examples, each with its own trust penalty (so no two
are the same strategy). The report writes every file (results, summary, HTML with 2 figures
per campaign) into a temporary directory. Used by the test of the 2 GiB bound
(`tests/reporting/test_report_scale.py`) and by the benchmark suite, each in a fresh process so the
peak is this report's own. With ``--workers W`` the report runs on a local Dask cluster of W
worker processes (the cores shared among them), and the line also gives each worker's peak
(``worker_peak_bytes``): the client never holds more than the in-flight window of path tables
(`forecast.engine.cluster.IN_FLIGHT_PATHS`), whatever the book's size.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import forecast as fc
from bench.memory_probe import peak_bytes
from forecast import examples
from forecast.engine.cluster import command_line_backend

CAMPAIGNS = 200
PATHS = 10_000
SEED = 26


def portfolio(campaigns: int, paths: int) -> fc.Portfolio:
    """``campaigns`` variants of the bundled examples (trust penalty 0.20-0.40)."""
    base = [fc.load(examples.path(n)) for n in examples.NAMES]
    plans = {}
    for i in range(campaigns):
        s = base[i % len(base)]
        penalty = 0.2 + 0.2 * i / max(1, campaigns - 1)
        plans[f"{s.name}_{i:03d}"] = s.with_market(trust_penalty=penalty)
    return fc.Portfolio.of(plans, seed=SEED, paths=paths, risk_levels=[0.95, 0.99])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=CAMPAIGNS)
    parser.add_argument("--paths", type=int, default=PATHS)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    pf = portfolio(args.campaigns, args.paths)
    workers: dict[str, int] = {}
    with (
        command_line_backend(None, args.workers) as backend,
        tempfile.TemporaryDirectory() as out,
    ):
        started = time.perf_counter()
        done = fc.report(pf, out, backend=backend)
        elapsed = time.perf_counter() - started
        rows = done.summary.height
        sizes = {p.name: p.stat().st_size for p in Path(out).iterdir()}
        if backend is not None:
            workers = backend.client.run(peak_bytes)
    print(
        json.dumps(
            {
                "campaigns": args.campaigns,
                "paths": args.paths,
                "elapsed_s": elapsed,
                "summary_rows": rows,
                "file_bytes": sizes,
                "peak_bytes": peak_bytes(),
                "workers": args.workers or 0,
                "worker_peak_bytes": sorted(workers.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
