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

import forecast as fc
from bench.conftest import interleaved
from forecast import examples
from forecast.reporting import plots

PROBE_CAMPAIGNS = 40


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
