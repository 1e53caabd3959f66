"""The benchmark gate's decisions (bench/gate.py), on made-up measurements: no timing here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import gate

BASE = {
    "tolerance": 0.25,
    "ratios": {"kernel vs loop": 0.05, "speed-up": 1.9},
    "limits": {"memory": 1024.0},
}


def result(kernel: float, speedup: float | None, memory: float | None = None) -> dict[str, Any]:
    ratios = {"kernel vs loop": {"value": kernel, "test": "bench/t.py::test_kernel"}}
    if speedup is not None:
        ratios["speed-up"] = {"value": speedup, "test": "bench/t.py::test_threads"}
    figures = {} if memory is None else {"memory": {"value": memory, "unit": "MiB", "test": "m"}}
    return {"ratios": ratios, "figures": figures}


class Fake:
    """A measure function replaying given results and recording what it was asked."""

    def __init__(self, *results: dict[str, Any]) -> None:
        self.results = list(results)
        self.calls: list[tuple[list[str], int]] = []

    def __call__(self, tests: list[str], rounds: int) -> dict[str, Any]:
        self.calls.append((tests, rounds))
        return self.results.pop(0)


def test_within_tolerance_passes_in_one_run() -> None:
    fake = Fake(result(0.0376, 1.43, memory=900))  # just above 75 % of each baseline
    ok, verdicts, _ = gate.gate(BASE, short=False, attempts=3, measure=fake)
    assert ok and len(fake.calls) == 1 and fake.calls[0] == (list(gate.FULL), gate.ROUNDS["full"])
    assert [v.passed for v in verdicts] == [True, True, True]


def test_regression_fails_only_if_it_persists() -> None:
    # the speed-up dips once (a neighbour held a core), then recovers: pass
    fake = Fake(result(0.05, 1.2), result(0.05, 1.85))
    ok, verdicts, _ = gate.gate(BASE, short=True, attempts=3, measure=fake)
    assert ok
    assert fake.calls[1] == (["bench/t.py::test_threads"], gate.ROUNDS["short"])  # only it
    assert verdicts[1].values == [1.2, 1.85]
    # a real regression fails every attempt: fail, after three runs
    fake = Fake(result(0.03, 1.9), result(0.031, 1.9), result(0.029, 1.9))
    ok, verdicts, _ = gate.gate(BASE, short=True, attempts=3, measure=fake)
    assert not ok and len(fake.calls) == 3
    assert [v.passed for v in verdicts] == [False, True, True]
    assert fake.calls[1][0] == ["bench/t.py::test_kernel"]


def test_limits_and_unmeasured_ratios() -> None:
    verdicts = gate.judge(BASE, [result(0.05, None, memory=1100)])
    by_name = {v.name: v for v in verdicts}
    assert by_name["speed-up"].passed and by_name["speed-up"].values == []  # skipped test
    assert not by_name["memory"].passed  # over its limit
    assert gate.judge(BASE, [result(0.05, 1.9)])[2].passed  # memory not measured (short run)


def test_main_exit_codes_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps(BASE))
    assert gate.main(["--baseline", str(base)], measure=Fake(result(0.05, 1.9))) == 0
    assert "bench.gate: pass" in capsys.readouterr().out
    bad = Fake(result(0.01, 1.9), result(0.01, 1.9))
    assert gate.main(["--baseline", str(base), "--attempts", "2"], measure=bad) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "bench.gate: FAIL" in out

    def broken(tests: list[str], rounds: int) -> dict[str, Any]:
        raise gate.BenchFailed("pytest exited with 1")

    assert gate.main(["--baseline", str(base)], measure=broken) == 1


def test_update_writes_medians_and_keeps_limits(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps(BASE))
    fake = Fake(result(0.04, 1.8), result(0.06, 1.7), result(0.05, 2.0))
    assert gate.main(["--baseline", str(base), "--update"], measure=fake) == 0
    data = json.loads(base.read_text())
    assert data["ratios"] == {"kernel vs loop": 0.05, "speed-up": 1.8}
    assert data["limits"] == BASE["limits"] and data["tolerance"] == 0.25
    assert data["machine"]["cores"] >= 1
    assert not list(tmp_path.glob("*.tmp"))  # written to a temporary name, moved into place
