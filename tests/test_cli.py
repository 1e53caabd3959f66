"""The command line: run, demo, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import forecast as fc
from forecast import examples
from forecast.cli import main


def write_tiny(tmp_path: Path) -> Path:
    text = """
name = "tiny"
[[products]]
name = "serum"
list_price = 100.0
unit_cost = 30.0
[[influencers]]
name = "amy"
tier = "micro"
views_per_hour = 200
[[sessions]]
influencer = "amy"
products = ["serum"]
hours = 1.0
"""
    f = tmp_path / "tiny.toml"
    f.write_text(text)
    return f


def test_run_prints_summary_and_writes_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_tiny(tmp_path)
    out = tmp_path / "r.parquet"
    assert main(["run", str(f), "--paths", "300", "--seed", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Forecast of 'tiny': 300 paths, seed 5" in text
    for metric in ("net_sales", "profit", "roi", "VaR95", "CVaR95", "P(loss)"):
        assert metric in text
    back = fc.read_parquet(out)
    assert back.seed == 5 and back.paths.height == 300


def test_run_without_seed_says_how_to_reproduce(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(write_tiny(tmp_path)), "--paths", "20"]) == 0
    assert "pass --seed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.toml"], "forecast: error: strategy file 'missing.toml' does not exist"),
        (["run", "{tiny}", "--paths", "0"], "forecast: error: run: paths = 0 is not allowed"),
        (["run", "{tiny}", "--paths", "x"], "forecast: error: argument --paths: 'x' is not"),
        (["run", "{bad}"], "forecast: error: {bad}: [[sessions]] #1: unknown key 'dya'"),
        (["fly"], "forecast: error: argument command: invalid choice"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    tiny = write_tiny(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(tiny.read_text() + "dya = 1\n")
    argv = [a.format(tiny=tiny, bad=bad) for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "forecast.cli", *argv], capture_output=True, text=True
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(message.format(tiny=tiny, bad=bad))
    assert "Traceback" not in done.stderr


def test_demo_runs_and_explains(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--paths", "2"]) == 0
    text = capsys.readouterr().out
    assert "mega_then_micro" in text and "mean per session" in text
    assert "star#0" in text and "eve#0" in text


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "forecast"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("forecast ")


def test_examples_listed_exist() -> None:
    for name in examples.NAMES:
        assert examples.path(name).exists()
