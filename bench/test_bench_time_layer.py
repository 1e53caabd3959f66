"""The time layer's cost: `forecast.run` of every bundled example (10,000 paths each, warm)
with the drift and the market factor on (the defaults) side by side with both switched off
(``market.drift = 0``, ``market.market_factor = 0``), round by round. The issue's limit is
1.3x: the ratio time(off) / time(on) must stay above 1 / 1.3 = 0.77.

    python -m pytest bench/test_bench_time_layer.py -q
"""

from __future__ import annotations

from typing import Any

import pytest

import forecast as fc
from bench.conftest import interleaved, sized
from forecast import examples

PATHS = sized(10_000, 500)
SEED = 7


@pytest.fixture(scope="module")
def book() -> tuple[list[fc.Strategy], list[fc.Strategy]]:
    on = [fc.load(examples.path(name)) for name in examples.NAMES]
    off = [s.with_market(drift=0.0, market_factor=0.0) for s in on]
    return on, off


def run_all(plans: list[fc.Strategy]) -> None:
    for plan in plans:
        fc.run(plan, paths=PATHS, seed=SEED)


def test_time_layer_cost(
    benchmark: Any, record: Any, record_ratio: Any, book: tuple[list[Any], list[Any]]
) -> None:
    on, off = book
    run_all(on)  # warm: compile every shape and the kernels
    run_all(off)
    r = interleaved(benchmark, lambda: run_all(on), {"off": lambda: run_all(off)})
    record("bundled examples, 10,000 paths each, time layer on", r.median(), "s")
    record("bundled examples, 10,000 paths each, time layer off", r.median("off"), "s")
    record_ratio("forecast with time layer vs without, speed", r.ratio("off", None))
