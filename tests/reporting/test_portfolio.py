"""Portfolio files: how campaigns are found, and one clear error line (exit code 2) for a bad
file before anything is simulated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import forecast as fc
from forecast import examples
from forecast.cli import main
from forecast.engine import run as runner
from tests.reporting.portfolios import SEED, copy_examples, write_portfolio

GOOD: dict[str, Any] = {"campaigns": ["mega_only.toml", "micro_only.toml"], "seed": SEED}


@pytest.fixture
def strategies(tmp_path: Path) -> Path:
    copy_examples(tmp_path)
    return tmp_path


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any simulation fails the test: errors must come before it."""

    def refuse(*args: Any, **kw: Any) -> None:
        raise AssertionError("simulated before the portfolio was checked")

    monkeypatch.setattr(runner, "simulate", refuse)


def _bad(text_or_keys: str | dict[str, Any], where: Path) -> Path:
    if isinstance(text_or_keys, str):
        path = where / "portfolio.toml"
        path.write_text(text_or_keys)
        return path
    return write_portfolio(where, **text_or_keys)


BAD: list[tuple[str, str | dict[str, Any], str]] = [
    ("missing file", {**GOOD, "campaigns": ["nope.toml"]}, "campaigns = 'nope.toml'"),
    ("glob matches nothing", {**GOOD, "campaigns": ["plans/*.toml"]}, "matches no file"),
    ("empty campaigns", {**GOOD, "campaigns": []}, "campaigns = []"),
    ("unknown key", {**GOOD, "risk_level": [0.95]}, "unknown key 'risk_level'; did you mean"),
    ("zero paths", {**GOOD, "paths": 0}, "paths = 0 is not allowed"),
    ("negative paths", {**GOOD, "paths": -10}, "paths = -10 is not allowed"),
    ("fractional paths", {**GOOD, "paths": 10.5}, "paths = 10.5 is not allowed"),
    ("risk level 1", {**GOOD, "risk_levels": [0.95, 1.0]}, "each level must be a number in (0, 1)"),
    ("risk level 0", {**GOOD, "risk_levels": [0]}, "risk_levels = [0] is not allowed"),
    ("risk level > 1", {**GOOD, "risk_levels": [1.5]}, "risk_levels = [1.5] is not allowed"),
    ("risk level < 0", {**GOOD, "risk_levels": [-0.1]}, "risk_levels = [-0.1]"),
    ("same level twice", {**GOOD, "risk_levels": [0.95, 0.95]}, "levels must be distinct"),
    ("no seed", {"campaigns": ["mega_only.toml"]}, "missing required key 'seed'"),
    ("seed text", {**GOOD, "seed": "abc"}, "seed = 'abc' is not allowed"),
    ("currency", {**GOOD, "currency": "usd"}, "currency = 'usd' is not allowed"),
    ("fx missing", {**GOOD, "currency": "USD"}, "fx_per_cny = None is not allowed; required"),
    ("fx with CNY", {**GOOD, "fx_per_cny": 2.0}, "fx_per_cny = 2.0 is not allowed"),
    ("fx zero", {**GOOD, "currency": "USD", "fx_per_cny": 0}, "fx_per_cny = 0 is not allowed"),
    ("method", {**GOOD, "method": "fast"}, "method = 'fast' is not allowed"),
    ("rank by", {**GOOD, "rank_by": "cvar99"}, "rank_by = 'cvar99' is not allowed"),
    ("duplicate names", {**GOOD, "campaigns": ["mega_only.toml", "copy/*.toml"]}, "distinct"),
    ("bad TOML", 'campaigns = ["a.toml"\nseed = 1\n', "not valid TOML"),
    ("a strategy file", (examples.path("mega_only")).read_text(), "looks like a strategy file"),
    ("broken strategy", {**GOOD, "campaigns": ["broken.toml"]}, "campaign broken.toml: "),
    ("cohort not exact", {**GOOD, "method": "cohort", "campaigns": ["two.toml"]}, "not exact"),
]

TWO_CARRIED = """
[[products]]
name = "a"
list_price = 10.0
[[products]]
name = "b"
list_price = 10.0
[[influencers]]
name = "x"
tier = "micro"
[[sessions]]
influencer = "x"
products = ["a", "b"]
[[sessions]]
influencer = "x"
products = ["a", "b"]
day = 1
"""


@pytest.mark.parametrize(("case", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_portfolio_one_line_exit_2_before_simulating(
    case: str,
    content: str | dict[str, Any],
    message: str,
    strategies: Path,
    no_simulation: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    copy = strategies / "copy"
    copy.mkdir()
    (copy / "mega_only.toml").write_text(examples.path("mega_only").read_text())
    (strategies / "broken.toml").write_text('[[sessions]]\ninfluencer = "ghost"\n')
    (strategies / "two.toml").write_text(TWO_CARRIED)
    portfolio = _bad(content, strategies)
    out = strategies / "out"
    assert main(["report", str(portfolio), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("forecast: error: "), err
    assert message in err, err
    assert not out.exists()  # nothing written either


def test_missing_portfolio_and_out_that_is_a_file(
    tmp_path: Path, no_simulation: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "none.toml"), "--out", str(tmp_path)]) == 2
    assert "portfolio file" in capsys.readouterr().err
    copy_examples(tmp_path)
    portfolio = write_portfolio(tmp_path, **GOOD)
    blocker = tmp_path / "out"
    blocker.write_text("a file where the report would go")
    assert main(["report", str(portfolio), "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file; the report needs a directory" in err
    assert blocker.read_text() == "a file where the report would go"


def test_bad_portfolio_exit_code_from_a_real_process(tmp_path: Path) -> None:
    portfolio = write_portfolio(tmp_path, campaigns=["x.toml"], seed=1, paths=-1)
    done = subprocess.run(
        [sys.executable, "-m", "forecast.cli", "report", str(portfolio), "--out", "o"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "forecast: error:" in done.stderr
    assert not (tmp_path / "o").exists()


def test_globs_are_sorted_deduplicated_and_skip_the_portfolio(strategies: Path) -> None:
    sub = strategies / "more" / "deep"
    sub.mkdir(parents=True)
    (sub / "deep_plan.toml").write_text(
        examples.path("one_mid_influencer").read_text().replace("one_mid_influencer", "deep")
    )
    portfolio = write_portfolio(
        strategies, campaigns=["micro_only.toml", "*.toml", "more/**/*.toml"], seed=1
    )
    pf = fc.load_portfolio(portfolio)
    rest = sorted(n for n in examples.NAMES if n != "micro_only")
    assert pf.names == ["micro_only", *rest, "deep"]
    assert all(c.file is not None and c.file.name != "portfolio.toml" for c in pf.campaigns)
    assert pf.paths == 10_000 and pf.risk_levels == (0.95,) and pf.currency == "CNY"
    assert pf.name == "portfolio"  # the file's stem


def test_the_bundled_portfolio_covers_every_bundled_strategy() -> None:
    pf = fc.load_portfolio(examples.path("portfolio"))
    assert sorted(pf.names) == sorted(examples.NAMES)
    assert pf.risk_levels == (0.95, 0.99)


def test_running_a_portfolio_as_a_strategy_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", str(examples.path("portfolio"))]) == 2
    err = capsys.readouterr().err
    assert "is a portfolio file" in err and "forecast report" in err


def test_portfolio_of_checks_like_the_file() -> None:
    s = fc.load(examples.path("micro_only"))
    with pytest.raises(fc.PortfolioError, match=r"risk_levels = \[2\] is not allowed"):
        fc.Portfolio.of([s], seed=1, risk_levels=[2])
    with pytest.raises(fc.PortfolioError, match="campaign names must be distinct"):
        fc.Portfolio.of([s, s], seed=1)
    pf = fc.Portfolio.of({"a": s, "b": examples.path("mega_only")}, seed=1, paths=50)
    assert pf.names == ["a", "b"] and pf.campaigns[1].file == examples.path("mega_only")
