"""The benchmark regression gate: ratios measured side by side, against a committed baseline.

    python -m bench.gate              # whole suite (about 1 min on 2 cores), then judge
    python -m bench.gate --short      # the ratios only, fewer rounds (about 30 s): CI
    python -m bench.gate --update     # measure 3 times (about 3 min), write the medians

It runs the pytest-benchmark suites in ``bench/`` and reads the ratios they record
(`bench.conftest`): per-viewer kernel vs the bare generator loop (1 and 2 threads), the
per-viewer kernel's speed-up on 2 threads vs 1, the kernel (1 thread) vs the plain-NumPy
peer, and the cohort run vs the per-viewer kernel. Each ratio is the median over rounds of a
ratio of two timings taken side by side, so it does not move when the whole machine is
slower; absolute seconds are printed, never judged.

A ratio regresses when it falls more than ``tolerance`` (25 %, in the baseline file) below
its baseline. A neighbour on a shared machine can still depress one ratio for a while (the
2-thread speed-up most of all, when another process holds a core), so a ratio that fails is
measured again, up to ``--attempts`` times in all, and the gate fails only if it fails every
time: a real regression does, a passing burst of load does not. Figures with a limit in the
baseline (peak memory) must stay within it. Exit status: 0 pass, 1 regression or a benchmark
that failed to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
BASELINE = BENCH / "baseline.json"
#: The suites of the short run: every test that records a gated ratio.
SHORT = (
    "bench/test_bench_viewer.py",
    "bench/test_bench_peer.py",
    "bench/test_bench_cohort.py::test_cohort_run_vs_viewer_kernel",
)
ROUNDS = {"short": 5, "full": 7}
#: The suites of the full run: all but the Dask scaling suite, the three calibration fits and the
#: million-path book, which judge nothing and take minutes (run them alone: python -m pytest
#: bench/test_bench_cluster.py bench/test_bench_calibrate.py bench/test_bench_report.py).
FULL = (
    "bench",
    "--ignore=bench/test_bench_cluster.py",
    "--ignore=bench/test_bench_optimize.py",
    "--ignore=bench/test_bench_sensitivity.py",
    "--deselect=bench/test_bench_calibrate.py::test_fit_1000_sessions_of_20_hosts",
    "--deselect=bench/test_bench_calibrate.py::test_calibrate_command_work",
    "--deselect=bench/test_bench_calibrate.py::test_calibrate_3000_hosts",
    "--deselect=bench/test_bench_report.py::test_book_of_a_million_paths_a_campaign",
)

#: measure(tests, rounds) -> {"figures": {...}, "ratios": {...}} (see `bench.conftest`)
Measure = Callable[[list[str], int], dict[str, Any]]


class BenchFailed(RuntimeError):
    """The benchmark suite did not run to the end."""


def run_suite(tests: list[str], rounds: int) -> dict[str, Any]:
    """Run pytest on ``tests`` (paths or node ids) in a fresh process; its figures and ratios."""
    root = BENCH.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        env = dict(
            os.environ,
            FORECAST_BENCH_ROUNDS=str(rounds),
            FORECAST_BENCH_RESULTS=str(out),
        )
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
        cmd += [f"--benchmark-json={Path(tmp) / 'benchmark.json'}"]
        done = subprocess.run(cmd, cwd=root, env=env, text=True, capture_output=True)
        print(done.stdout[-4000:], end="", flush=True)
        if done.returncode != 0 or not out.exists():
            print(done.stderr[-4000:], file=sys.stderr)
            raise BenchFailed(f"pytest exited with {done.returncode}: {' '.join(cmd)}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


@dataclass
class Verdict:
    """One gated quantity: its baseline, every measurement, and whether it passes."""

    name: str
    kind: str  # "ratio" (higher is better, within tolerance) or "limit" (at most baseline)
    baseline: float
    values: list[float]
    passed: bool
    floor: float  # the lowest passing value (ratio) or the highest (limit)


def judge(baseline: dict[str, Any], attempts: list[dict[str, Any]]) -> list[Verdict]:
    """Verdicts on every baseline ratio and limit from the ``attempts`` (results of
    `run_suite`, first to last). A ratio passes if any attempt is within tolerance; one that
    no attempt measured (its test skipped, e.g. 2 threads on a 1-core machine) passes and
    shows no value. A limit passes if every attempt that measured it is within it."""
    tol = float(baseline["tolerance"])
    out = []
    for name, base in baseline["ratios"].items():
        values = [a["ratios"][name]["value"] for a in attempts if name in a.get("ratios", {})]
        floor = base * (1.0 - tol)
        out.append(Verdict(name, "ratio", base, values, not values or max(values) >= floor, floor))
    for name, limit in baseline.get("limits", {}).items():
        values = [a["figures"][name]["value"] for a in attempts if name in a.get("figures", {})]
        out.append(Verdict(name, "limit", limit, values, all(x <= limit for x in values), limit))
    return out


def tests_of(names: list[str], results: dict[str, Any]) -> list[str]:
    """The node ids of the tests that measured ``names``, in first-seen order."""
    ids: list[str] = []
    for name in names:
        node = results["ratios"].get(name, {}).get("test")
        if node and node not in ids:
            ids.append(node)
    return ids


def gate(
    baseline: dict[str, Any], short: bool, attempts: int, measure: Measure = run_suite
) -> tuple[bool, list[Verdict], list[dict[str, Any]]]:
    """Measure, judge, and measure again what failed, up to ``attempts`` runs in all."""
    rounds = ROUNDS["short" if short else "full"]
    runs = [measure(list(SHORT if short else FULL), rounds)]
    verdicts = judge(baseline, runs)
    for _ in range(attempts - 1):
        failing = [v.name for v in verdicts if not v.passed and v.kind == "ratio"]
        if not failing:
            break
        print(f"\nmeasuring again: {', '.join(failing)}", flush=True)
        runs.append(measure(tests_of(failing, runs[0]), rounds))
        verdicts = judge(baseline, runs)
    return all(v.passed for v in verdicts), verdicts, runs


def report(verdicts: list[Verdict], runs: list[dict[str, Any]], tolerance: float) -> str:
    """The figures of the first run (reported, not judged) and the verdicts, as text."""
    lines = ["", "figures (medians; reported, not judged):"]
    for name, f in runs[0]["figures"].items():
        lines.append(f"  {name:<60} {f['value']:>12,.3f} {f['unit']}")
    lines.append("")
    lines.append(f"gate (ratios: at least baseline - {tolerance:.0%}; limits: at most):")
    head = f"  {'':<60} {'baseline':>10} {'floor':>10} {'measured':>22}  verdict"
    lines.append(head)
    for v in verdicts:
        got = " / ".join(f"{x:,.4g}" for x in v.values) if v.values else "not measured"
        verdict = "ok" if v.passed else ("REGRESSION" if v.kind == "ratio" else "OVER LIMIT")
        lines.append(f"  {v.name:<60} {v.baseline:>10,.4g} {v.floor:>10,.4g} {got:>22}  {verdict}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the baseline was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover - not Linux
        pass
    from importlib import metadata

    import numba

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,  # type: ignore[attr-defined]
        "python": platform.python_version(),
        "numba": metadata.version("numba"),
        "numpy": metadata.version("numpy"),
        "measured": time.strftime("%Y-%m-%d"),
    }


def update(path: Path, repeat: int, tolerance: float, measure: Measure = run_suite) -> None:
    """Measure the whole suite ``repeat`` times and write the median of each ratio as the
    baseline (to a temporary file, then moved into place)."""
    runs = [measure(list(FULL), ROUNDS["full"]) for _ in range(repeat)]
    names = [n for n in runs[0]["ratios"] if all(n in r["ratios"] for r in runs)]
    old = json.loads(path.read_text()) if path.exists() else {}
    data = {
        "about": "bench/gate.py: ratios measured side by side (higher is better) and limits",
        "machine": machine(),
        "tolerance": tolerance,
        "ratios": {
            n: round(statistics.median(r["ratios"][n]["value"] for r in runs), 4) for n in names
        },
        "measured": {n: [round(r["ratios"][n]["value"], 4) for r in runs] for n in names},
        "limits": old.get("limits", {}),
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}: " + ", ".join(f"{n} = {v}" for n, v in data["ratios"].items()))


def main(argv: list[str] | None = None, measure: Measure = run_suite) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gate", description=__doc__.split("\n")[0])
    p.add_argument("--short", action="store_true", help="gated ratios only, fewer rounds (CI)")
    p.add_argument("--attempts", type=int, default=3, help="runs before a ratio fails (3)")
    p.add_argument("--baseline", type=Path, default=BASELINE, help="baseline file")
    p.add_argument("--update", action="store_true", help="write a new baseline and exit")
    p.add_argument("--repeat", type=int, default=3, help="suite runs for --update (3)")
    p.add_argument("--tolerance", type=float, default=None, help="for --update (0.25)")
    p.add_argument("--save", type=Path, default=None, help="write every measurement as JSON")
    args = p.parse_args(argv)
    if args.attempts < 1 or args.repeat < 1:
        p.error("--attempts and --repeat must be at least 1")
    try:
        if args.update:
            tol = 0.25 if args.tolerance is None else args.tolerance
            update(args.baseline, args.repeat, tol, measure)
            return 0
        baseline = json.loads(args.baseline.read_text())
        ok, verdicts, runs = gate(baseline, args.short, args.attempts, measure)
    except BenchFailed as err:
        print(f"bench.gate: {err}", file=sys.stderr)
        return 1
    print(report(verdicts, runs, float(baseline["tolerance"])))
    print(f"\nbaseline measured on: {baseline.get('machine', {})}")
    if args.save:
        args.save.write_text(json.dumps({"verdicts": [v.__dict__ for v in verdicts], "runs": runs}))
    print("bench.gate: " + ("pass" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
