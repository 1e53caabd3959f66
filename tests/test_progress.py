"""Progress bars: drawn on a terminal, silent when output goes to a pipe or a file."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import forecast as fc
from forecast import examples
from tests.reporting.portfolios import copy_examples, write_portfolio

ROOT = Path(__file__).resolve().parent.parent

#: Runs a command of the CLI with the bar shown at once (no one-second delay).
_CLI = (
    "import sys, forecast.progress as p; p.DELAY_S = 0; from forecast.cli import main; "
    "sys.exit(main(sys.argv[1:]))"
)


def _on_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit code, what the terminal got)."""
    main_fd, tty_fd = pty.openpty()
    # a terminal of 24 rows x 100 columns (a fresh pty is 0 x 0, where tqdm draws nothing)
    fcntl.ioctl(tty_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, *args],
        stdout=subprocess.DEVNULL,
        stderr=tty_fd,
        cwd=ROOT,
    )
    os.close(tty_fd)
    chunks = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            data = os.read(main_fd, 4096)
        except OSError:  # the terminal closed: the process is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(main_fd)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("command", ["run", "compare", "report"])
def test_bar_on_a_terminal(command: str, tmp_path: Path) -> None:
    mega = str(examples.path("micro_then_mega"))
    if command == "run":
        args = ["run", mega, "--paths", "20000", "--seed", "1"]
        unit = "path"
    elif command == "compare":
        args = ["compare", mega, str(examples.path("micro_only")), "--paths", "5000"]
        unit = "path"
    else:
        copy_examples(tmp_path)
        portfolio = write_portfolio(
            tmp_path, campaigns=["micro_only.toml", "mega_only.toml"], seed=1, paths=2000
        )
        args = ["report", str(portfolio), "--out", str(tmp_path / "out")]
        unit = "fig"
    code, screen = _on_terminal(args)
    assert code == 0, screen
    assert "%|" in screen and unit in screen, screen  # tqdm's bar: "37%|####  | 7.4k/20k path"
    assert "\r" in screen  # redrawn in place


def test_silent_when_not_a_terminal(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CLI, "run", str(examples.path("micro_only")), "--paths", "20000"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0
    assert done.stderr == ""


def test_python_api_silent_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    fc.run(examples.path("micro_only"), paths=2000, seed=1, progress=True)  # stderr: not a tty
    fc.run(examples.path("micro_only"), paths=2000, seed=1)
    assert capsys.readouterr().err == ""


def test_progress_counts_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar's total is reached exactly: every kernel call reports its paths once, for a
    run (in calls of one 4,096-path block) and for a compare (one bar over both)."""
    import tqdm

    bars: list[tuple[int, list[int]]] = []

    class Recorder:
        def __init__(self, total: int, **kw: object) -> None:
            self.seen: list[int] = []
            bars.append((total, self.seen))

        def __enter__(self) -> Recorder:
            return self

        def __exit__(self, *a: object) -> None:
            return None

        def update(self, n: int) -> None:
            self.seen.append(n)

    monkeypatch.setattr(tqdm, "tqdm", Recorder)
    fc.run(examples.path("micro_only"), paths=10_000, seed=1, progress=True)
    fc.compare([examples.path("micro_only"), examples.path("mega_only")], paths=5000, progress=True)
    fc.run(examples.path("micro_only"), paths=10_000, seed=1)  # no bar asked for: none made
    (run_total, run_seen), (cmp_total, cmp_seen) = bars
    assert run_total == sum(run_seen) == 10_000 and run_seen == [4096, 4096, 1808]
    assert cmp_total == sum(cmp_seen) == 10_000 and len(cmp_seen) == 4  # 2 blocks each
