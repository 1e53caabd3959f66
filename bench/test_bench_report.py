"""Batch reports: the bundled portfolio (7 campaigns x 10,000 paths) end to end, the cost of
the figures, and a 40-campaign portfolio in a fresh process (time and peak memory; the
200-campaign bound is a test, `tests/reporting/test_report_scale.py`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np
import pytest

import forecast as fc
from bench.conftest import interleaved, sized
from forecast import examples
from forecast.reporting import plots

PROBE_CAMPAIGNS = sized(40, 3)


def _two_figures() -> None:
    """The two figures of one campaign, as the report draws them (80 bins, 6 sessions)."""
    rng = np.random.default_rng(1)
    profit = rng.normal(10_000, 40_000, 10_000)
    hist = plots.Histogram.of(profit, [0.0, 10_000.0, -60_000.0, -70_000.0])
    plots.profit_histogram(hist, 10_000.0, [(0.95, 60_000.0, 70_000.0)], "CNY")
    fan = np.cumsum(rng.gamma(2.0, 20_000.0, (5, 6)), axis=1)
    fan.sort(axis=0)
    plots.fan_chart([f"s{i}" for i in range(6)], (0.05, 0.25, 0.5, 0.75, 0.95), fan, fan[2], "CNY")


def test_report_bundled_portfolio(benchmark: Any, record: Any) -> None:
    pf = fc.load_portfolio(examples.path("portfolio"))
    with tempfile.TemporaryDirectory() as out:
        fc.report(pf, out)  # warm: kernels loaded, matplotlib imported
        r = interleaved(benchmark, lambda: fc.report(pf, out), {"figures": _two_figures})
    record("report of the bundled portfolio, 7 campaigns x 10,000 paths", r.median(), "s")
    record("two figures of one campaign (histogram and fan chart)", r.median("figures"), "s")


def test_report_forty_campaigns_fresh_process(benchmark: Any, record: Any) -> None:
    """One round (memory does not vary with load; about 20 s)."""
    out: list[dict[str, Any]] = []
    cmd = [sys.executable, "-m", "bench.report_probe", "--campaigns", str(PROBE_CAMPAIGNS)]

    def probe() -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=900)
        out.append(json.loads(done.stdout))

    benchmark.pedantic(probe, rounds=1)
    p = out[0]
    record(
        f"report of {PROBE_CAMPAIGNS} campaigns x 10,000 paths, in the process", p["elapsed_s"], "s"
    )
    record("per campaign, all files included", p["elapsed_s"] / PROBE_CAMPAIGNS, "s")
    record(f"peak memory, {PROBE_CAMPAIGNS}-campaign report", p["peak_bytes"] / 2**20, "MiB")


#: The nightly book: 20 campaigns x 1,000,000 paths (2 x 20,000 in smoke mode).
BOOK_CAMPAIGNS = sized(20, 2)
BOOK_PATHS = sized(1_000_000, 20_000)


@pytest.mark.parametrize("workers", [0, 2], ids=["here", "2 workers"])
def test_book_of_a_million_paths_a_campaign(benchmark: Any, record: Any, workers: int) -> None:
    """A report of `BOOK_CAMPAIGNS` campaigns x `BOOK_PATHS` paths in a fresh process, here
    (numba threads) and on a local Dask cluster of 2 worker processes: time, and the peak
    memory of the client and of each worker (the README's figures; about 10 minutes each
    at full size, so `bench.gate` leaves them out)."""
    out: list[dict[str, Any]] = []
    cmd = [
        sys.executable,
        "-m",
        "bench.report_probe",
        "--campaigns",
        str(BOOK_CAMPAIGNS),
        "--paths",
        str(BOOK_PATHS),
    ]
    if workers:
        cmd += ["--workers", str(workers)]

    def probe() -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=3600)
        out.append(json.loads(done.stdout))

    benchmark.pedantic(probe, rounds=1)
    p = out[0]
    where = f"{workers} workers" if workers else "here"
    size = f"{BOOK_CAMPAIGNS} x {BOOK_PATHS:,} paths"
    record(f"book of {size}, {where}: time", p["elapsed_s"], "s")
    record(
        f"book of {size}, {where}: per million campaign-paths",
        p["elapsed_s"] / (BOOK_CAMPAIGNS * BOOK_PATHS / 1e6),
        "s",
    )
    record(f"book of {size}, {where}: peak memory of the client", p["peak_bytes"] / 2**20, "MiB")
    for i, peak in enumerate(p["worker_peak_bytes"]):
        record(f"book of {size}, {where}: peak memory of worker {i + 1}", peak / 2**20, "MiB")
    assert p["summary_rows"] == BOOK_CAMPAIGNS * 12
