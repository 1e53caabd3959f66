"""The README stays true: its Python example runs as written, and .ci/run calls the README's
test command verbatim."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_two_setup_commands_and_ci() -> None:
    block = re.search(r"## Two commands.*?```sh\n(.*?)```", README, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    demo, tests = commands
    assert demo.endswith("forecast demo")
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.slow
def test_python_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    match = re.search(r"## Ten lines of Python\n\n```python\n(.*?)```", README, re.S)
    assert match is not None
    code = match.group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 12
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert (tmp_path / "plan.parquet").exists()
    assert "profit" in capsys.readouterr().out


def run_block(section: str, where: Path) -> None:
    """Run the first Python block after the README heading ``section`` (a regex) in the
    folder ``where``, as written."""
    match = re.search(rf"## {section}.*?```python\n(.*?)```", README, re.S)
    assert match is not None, section
    cwd = os.getcwd()
    os.chdir(where)
    try:
        exec(compile(match.group(1), "README.md", "exec"), {})
    finally:
        os.chdir(cwd)


@pytest.mark.slow
def test_calibration_walk_through_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The calibration section's Python block: two fitted hosts and a new one, as written."""
    run_block("Calibrate to your own hosts' past sessions", tmp_path)
    assert (tmp_path / "fit" / "calibration.parquet").exists()
    assert "profit" in capsys.readouterr().out


@pytest.mark.slow
def test_optimize_walk_through_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The plan search section's Python block, as written (the bundled space, about 30 s)."""
    run_block("Find the best plan", tmp_path)
    assert {p.name for p in (tmp_path / "best").iterdir()} == {
        "best.toml",
        "candidates.parquet",
        "optimize.html",
    }
    assert "Best plan of 'serum_launch'" in capsys.readouterr().out


@pytest.mark.slow
def test_sensitivity_walk_through_runs(tmp_path: Path) -> None:
    """The sensitivity section's Python block, as written (about 15 s)."""
    run_block("Which input drives the risk", tmp_path)
    assert (tmp_path / "sens" / "sensitivity.html").exists()
