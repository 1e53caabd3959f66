"""Benchmark harness: warm JIT, medians, and ratios from rounds run side by side.

A figure is an absolute throughput or time (reported, never gated). A ratio compares two
measurements taken in the same test, round by round: pytest-benchmark times the target and,
in the untimed set-up before each of its rounds, this harness times each partner. Each round
gives one ratio from figures measured within seconds of each other, under the same load from
whatever else the machine runs; the median over rounds is what `bench.gate` compares with
the committed baseline.

Environment (set by `bench.gate`): ``FORECAST_BENCH_ROUNDS`` rounds per benchmark (default
7); ``FORECAST_BENCH_RESULTS`` a JSON file to write every figure and ratio to.

Smoke mode (``FORECAST_BENCH_SMOKE=1``, which CI sets with ``--benchmark-disable``): every
benchmark runs once on sizes cut by `sized`, so that the files cannot rot between releases
(an API they call that changed fails CI) while the whole suite stays under 3 minutes; its
figures are not timings to quote. A benchmark never reads pytest-benchmark's statistics,
which are absent when benchmarks are disabled: `timed` and `interleaved` keep their own.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

#: Smoke mode: sizes cut, one round (see the module docstring).
SMOKE = os.environ.get("FORECAST_BENCH_SMOKE", "") not in ("", "0")

#: Rounds per benchmark (each one round of the target and of each partner).
ROUNDS = int(os.environ.get("FORECAST_BENCH_ROUNDS", "1" if SMOKE else "7"))


def sized(full: int, smoke: int) -> int:
    """``full`` normally, ``smoke`` in smoke mode: the size of a benchmark's workload."""
    return smoke if SMOKE else full


def timed(benchmark: Any, target: Callable[[], Any], rounds: int = 1) -> tuple[Any, float]:
    """Run ``target`` ``rounds`` times through pytest-benchmark (once when benchmarks are
    disabled) and return its last result and the median of its own wall-clock seconds,
    which exist whether or not pytest-benchmark keeps statistics."""
    seconds: list[float] = []
    out: list[Any] = []

    def once() -> None:
        t = time.perf_counter()
        out.append(target())
        seconds.append(time.perf_counter() - t)

    rounds = 1 if SMOKE else rounds
    benchmark.pedantic(once, rounds=rounds, warmup_rounds=0)
    return out[-1], statistics.median(seconds)


FIGURES: dict[str, dict[str, Any]] = {}
RATIOS: dict[str, dict[str, Any]] = {}


@dataclass
class Rounds:
    """Seconds per round: ``target[i]`` and ``partners[name][i]`` ran side by side."""

    target: list[float]
    partners: dict[str, list[float]]

    def median(self, name: str | None = None) -> float:
        """Median seconds of the target (``name`` None) or of a partner."""
        return statistics.median(self.target if name is None else self.partners[name])

    def ratio(self, num: str | None, den: str | None) -> float:
        """Median over rounds of time(num) / time(den); None names the target."""
        a = self.target if num is None else self.partners[num]
        b = self.target if den is None else self.partners[den]
        return statistics.median(x / y for x, y in zip(a, b, strict=True))


def interleaved(
    benchmark: Any, target: Callable[[], object], partners: dict[str, Callable[[], object]]
) -> Rounds:
    """Time ``target`` with pytest-benchmark for `ROUNDS` rounds, each preceded by one timed
    call of every partner. Everything must be warm (compiled) before."""
    times: dict[str, list[float]] = {name: [] for name in partners}

    def setup() -> None:
        for name, fn in partners.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)

    if getattr(benchmark, "disabled", False):  # --benchmark-disable: time the rounds here
        benchmark.pedantic(target, rounds=1, warmup_rounds=0)  # runs it once, keeps no stats
        own: list[float] = []
        for _ in range(ROUNDS):
            setup()
            t = time.perf_counter()
            target()
            own.append(time.perf_counter() - t)
        return Rounds(own, times)
    benchmark.pedantic(target, setup=setup, rounds=ROUNDS, warmup_rounds=0)
    return Rounds(list(benchmark.stats.stats.data), times)


@pytest.fixture(scope="session")
def mega() -> Any:
    """``mega_only`` compiled: one mega session, 3.6 M viewers a path."""
    import forecast as fc
    from forecast import examples
    from forecast.engine.compile import compile_strategy

    return compile_strategy(fc.load(examples.path("mega_only")))


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``record(name, value, unit)``: an absolute figure of this run."""

    def _record(name: str, value: float, unit: str) -> None:
        FIGURES[name] = {"value": value, "unit": unit, "test": request.node.nodeid}

    return _record


@pytest.fixture
def record_ratio(request: pytest.FixtureRequest) -> Callable[[str, float], None]:
    """``record_ratio(name, value)``: a ratio the gate compares (higher is better)."""

    def _record(name: str, value: float) -> None:
        RATIOS[name] = {"value": value, "test": request.node.nodeid}

    return _record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES and not RATIOS:
        return
    tr = terminalreporter
    tr.section("forecast figures (medians of this run)")
    for name, f in FIGURES.items():
        tr.write_line(f"{name:<58} {f['value']:>14,.3f} {f['unit']}")
    tr.section("forecast ratios (median of per-round ratios, higher is better)")
    for name, r in RATIOS.items():
        tr.write_line(f"{name:<58} {r['value']:>14,.4f}")
    out = os.environ.get("FORECAST_BENCH_RESULTS")
    if out:
        with open(out, "w") as fh:
            json.dump({"figures": FIGURES, "ratios": RATIOS, "rounds": ROUNDS}, fh, indent=1)
