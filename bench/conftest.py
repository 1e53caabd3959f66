"""Benchmark harness: warm JIT, medians, ratios measured within one run.

Every benchmark records a throughput in ``benchmark.extra_info`` computed from its median
round time; at the end of the session the ratios (kernel vs bare generator loop, 2 threads vs
1, cohort vs per-viewer) are printed, each from figures measured in this same run.
"""

from __future__ import annotations

from typing import Any

import pytest

RESULTS: dict[str, float] = {}


@pytest.fixture
def record() -> Any:
    def _record(name: str, value: float) -> None:
        RESULTS[name] = value

    return _record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("forecast throughput (medians of this run)")
    for name, value in sorted(RESULTS.items()):
        tr.write_line(f"{name:<45} {value:>14,.1f}")
    ratios = []
    for t in (1, 2):
        k, b = (
            RESULTS.get(f"viewer kernel, viewers/s, {t} thread(s)"),
            RESULTS.get(f"bare generator, uniforms/s, {t} thread(s)"),
        )
        if k and b:
            ratios.append((f"kernel viewers per generator draw, {t} thread(s)", k / b))
    k1 = RESULTS.get("viewer kernel, viewers/s, 1 thread(s)")
    k2 = RESULTS.get("viewer kernel, viewers/s, 2 thread(s)")
    if k1 and k2:
        ratios.append(("viewer kernel speed-up, 2 threads vs 1", k2 / k1))
    co = RESULTS.get("cohort run, mega_then_micro, paths/s")
    vi = RESULTS.get("viewer kernel, mega_then_micro, paths/s")
    if co and vi:
        ratios.append(("cohort vs viewer, paths/s, mega_then_micro", co / vi))
    for name, value in ratios:
        tr.write_line(f"{name:<45} {value:>14.3f}")
