"""Cohort kernel: `forecast.run` of 10,000 paths of ``mega_then_micro`` (warm cache, all
threads), side by side with the per-viewer kernel on the same strategy, in paths per second;
and `forecast.analysis.compare` of the five bundled serum examples at 10,000 paths.

    python -m pytest bench -q            # figures and ratios are printed at the end
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import forecast as fc
from bench.conftest import interleaved, sized
from forecast import examples
from forecast.engine.compile import compile_strategy
from kernels import layout as L
from kernels.viewer import run_paths

COHORT_PATHS = sized(10_000, 1_000)
VIEWER_PATHS = sized(4, 1)
SEED = 2024
SERUM_EXAMPLES = (
    "mega_only",
    "micro_only",
    "mega_then_micro",
    "micro_then_mega",
    "mega_deep_discount",
)


@pytest.fixture(scope="module")
def campaign() -> fc.Strategy:
    return fc.load(examples.path("mega_then_micro"))


def cohort_run(campaign: fc.Strategy) -> None:
    """The whole call a user makes: compile, quadrature, kernel, tables."""
    fc.run(campaign, paths=COHORT_PATHS, seed=SEED)


def test_cohort_run_vs_viewer_kernel(
    benchmark: Any, record: Any, record_ratio: Any, campaign: fc.Strategy
) -> None:
    """The per-viewer side is the kernel alone (no compile, no tables), so the ratio is
    conservative for the cohort kernel."""
    assert fc.run(campaign, paths=10, seed=SEED).method == "cohort"  # warm the JIT
    c = compile_strategy(campaign)

    def viewer() -> None:
        counts = np.zeros((VIEWER_PATHS, c.n_sessions, L.N_COUNTS), dtype=np.int64)
        money = np.zeros((VIEWER_PATHS, c.n_sessions, L.N_MONEY))
        run_paths(c, SEED, 0, counts, money)

    viewer()
    r = interleaved(benchmark, lambda: cohort_run(campaign), {"viewer": viewer})
    record("cohort run, mega_then_micro, 10,000 paths", 1000.0 * r.median(), "ms")
    record("per-viewer kernel, mega_then_micro", VIEWER_PATHS / r.median("viewer"), "paths/s")
    record_ratio(
        "cohort run vs per-viewer kernel, paths/s",
        COHORT_PATHS / VIEWER_PATHS * r.ratio("viewer", None),
    )


def test_compare_five_examples(benchmark: Any, record: Any) -> None:
    strategies = {name: fc.load(examples.path(name)) for name in SERUM_EXAMPLES}
    fc.compare(strategies, paths=100, seed=SEED)  # warm
    r = interleaved(benchmark, lambda: fc.compare(strategies, paths=COHORT_PATHS, seed=SEED), {})
    record("compare, 5 serum examples, 10,000 paths each", r.median(), "s")
