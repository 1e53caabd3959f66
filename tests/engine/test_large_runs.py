"""Large runs: tables built block by block, the session table kept only up to a size (then
rebuilt on demand), session means summed during the run, and the memory of 1,000,000 paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import forecast as fc
from forecast.engine import blocks as engine_blocks
from forecast.engine import run as runner
from forecast.engine.tables import SUMMARY_COLUMNS
from tests.conftest import micro_then_mega, one_carried

#: The issue's memory bound for a 1,000,000-path cohort run, bytes.
ONE_GIB = 2**30


def _means_from_sessions(f: fc.Forecast) -> pl.DataFrame:
    return (
        f.sessions.group_by("session", maintain_order=True)
        .agg(pl.col(c).mean() for c in SUMMARY_COLUMNS)
        .sort("session")
    )


@pytest.mark.parametrize(
    ("method", "build"), [("viewer", micro_then_mega), ("cohort", one_carried)]
)
def test_blocks_make_the_same_tables(
    monkeypatch: pytest.MonkeyPatch, method: str, build: type
) -> None:
    """Tables built from blocks of 64 paths equal those built from one block, and the
    session means summed block by block equal the means of the session table."""
    s = build()
    whole = fc.run(s, paths=300, seed=21, method=method)
    monkeypatch.setattr(engine_blocks, "BLOCK_PATHS", 64)
    blocks = fc.run(s, paths=300, seed=21, method=method, chunk_paths=10)
    assert blocks.paths.equals(whole.paths)
    assert blocks.sessions.equals(whole.sessions)
    assert blocks.paths.n_chunks() == 1  # concatenated into one contiguous table
    for f in (whole, blocks):
        got = f.session_summary()
        want = _means_from_sessions(f)
        assert got.get_column("label").to_list() == [x.label for x in s.sessions]
        for c in SUMMARY_COLUMNS:
            np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12)


def test_session_means_do_not_depend_on_threads_or_chunks() -> None:
    s = one_carried()
    a = fc.run(s, paths=5_000, seed=22, threads=1).session_summary()
    b = fc.run(s, paths=5_000, seed=22, threads=2, chunk_paths=333).session_summary()
    assert a.equals(b)


def test_large_run_rebuilds_its_session_table_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    s = one_carried()
    eager = fc.run(s, paths=200, seed=23)
    monkeypatch.setattr(runner, "EAGER_SESSION_ROWS", 200 * len(s.sessions) - 1)
    lazy = fc.run(s, paths=200, seed=23)
    assert lazy._sessions is None  # not kept: the run is above the limit
    assert lazy.session_summary().equals(eager.session_summary())  # summed during the run
    assert lazy._sessions is None  # ... so the summary did not need the table
    assert lazy.sessions.equals(eager.sessions)  # rebuilt from the seed
    assert lazy._sessions is not None  # and kept


def test_forecast_read_back_gets_its_session_summary(tmp_path: Path) -> None:
    s = one_carried()
    f = fc.run(s, paths=150, seed=24)
    out = f"{tmp_path}/f.parquet"
    f.to_parquet(out)
    back = fc.read_parquet(out)
    assert back.session_summary().equals(f.session_summary())


def test_rebuild_refuses_a_path_table_it_does_not_reproduce(tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    fc.run(one_carried(), paths=50, seed=26).to_parquet(str(out))
    back = fc.read_parquet(out)
    back.paths = back.paths.with_columns(pl.col("gmv") + 1.0)  # not what the seed gives
    with pytest.raises(ValueError, match="does not reproduce"):
        back.sessions  # noqa: B018
    with pytest.raises(ValueError, match="does not reproduce"):
        back.session_summary()


@pytest.mark.slow
def test_one_million_cohort_paths_within_one_gib() -> None:
    """A fresh process (`bench.memory_probe`) runs 1,000,000 paths of ``mega_then_micro``
    (six sessions) on the cohort kernel and takes its summary and session summary; its peak
    resident memory, numba and polars included, must stay within 1 GiB. Memory, unlike
    time, does not depend on how busy the machine is, so this can be a test."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_probe"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["method"] == "cohort" and got["rows"] == 1_000_000
    assert got["prefix"] and not got["kept_sessions"]
    assert got["peak_bytes"] <= ONE_GIB, f"peak {got['peak_bytes'] / 2**20:.0f} MiB"
