"""Start-up: ``import forecast`` in a fresh interpreter, and a fresh process running
``forecast run`` on a bundled example with the numba cache warm (what a user or a CI job
pays per command), and the peak memory of a 1,000,000-path cohort run in a fresh process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.conftest import interleaved
from forecast import examples

PROBE = "from bench.memory_probe import main; main()"
IMPORT = "import time; t = time.perf_counter(); import forecast; print(time.perf_counter() - t)"


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return done.stdout.strip().splitlines()[-1]


def _forecast_command() -> list[str]:
    script = Path(sys.executable).with_name("forecast")
    found = str(script) if script.exists() else shutil.which("forecast")
    return [found] if found else [sys.executable, "-c", "from forecast.cli import main; main()"]


def test_import_time(benchmark: Any, record: Any) -> None:
    inside: list[float] = []
    _python(IMPORT)  # the first import may write bytecode
    r = interleaved(benchmark, lambda: inside.append(float(_python(IMPORT))), {})
    record("import forecast (fresh interpreter)", sorted(inside)[len(inside) // 2], "s")
    record("python -c 'import forecast', whole process", r.median(), "s")


def test_fresh_process_forecast_run(benchmark: Any, record: Any) -> None:
    cmd = [
        *_forecast_command(),
        "run",
        str(examples.path("mega_then_micro")),
        "--paths",
        "10000",
        "--seed",
        "1",
    ]
    subprocess.run(cmd, capture_output=True, check=True, timeout=600)  # warm the numba cache
    r = interleaved(
        benchmark, lambda: subprocess.run(cmd, capture_output=True, check=True, timeout=600), {}
    )
    record("fresh process: forecast run mega_then_micro, 10,000 paths", r.median(), "s")


def test_peak_memory_one_million_cohort_paths(benchmark: Any, record: Any) -> None:
    """One round of `bench.memory_probe` (memory does not vary with load; about 15 s)."""
    out: list[dict[str, Any]] = []
    started = time.perf_counter()
    benchmark.pedantic(lambda: out.append(json.loads(_python(PROBE))), rounds=1)
    assert out[0]["method"] == "cohort" and out[0]["prefix"]
    record(
        "peak memory, 1,000,000 cohort paths of mega_then_micro",
        out[0]["peak_bytes"] / 2**20,
        "MiB",
    )
    record("time, 1,000,000 cohort paths, fresh process", time.perf_counter() - started, "s")
