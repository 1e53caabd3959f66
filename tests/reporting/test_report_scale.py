"""A portfolio of 200 campaigns x 10,000 paths: the whole report (results, summary, HTML with
two figures a campaign) within 2 GiB, measured in a fresh process (`bench.report_probe`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The issue's bound, bytes.
TWO_GIB = 2 * 2**30


@pytest.mark.slow
def test_200_campaigns_of_10000_paths_within_2_gib() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.report_probe"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    assert (probe["campaigns"], probe["paths"]) == (200, 10_000)
    assert probe["summary_rows"] == 200 * 12  # every campaign summarized, 12 metrics each
    assert probe["file_bytes"]["results.parquet"] > 100 * 2**20  # 2,000,000 rows written
    assert probe["peak_bytes"] <= TWO_GIB, probe
