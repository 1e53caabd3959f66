"""`forecast report`: the files it writes, their metadata, resuming after Ctrl-C, and what a
killed writer leaves behind.

Every campaign runs on the cohort kernel with a fixed seed, so every comparison here is
exact (same bits), not statistical: no test can fail by chance.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

import forecast as fc
from forecast.cli import main
from forecast.engine.tables import MONEY_COLUMNS
from forecast.model.strategy_file import strategy_from_dict
from forecast.reporting import builder as report_module
from forecast.results import provenance
from forecast.results.io import METADATA_KEY
from forecast.results.result import strategy_hash
from forecast.results.summary import summarize, tail_risk
from tests.reporting.portfolios import PATHS, SEED, copy_examples, variants, write_portfolio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled strategies and a portfolio that globs them (it never matches itself)."""
    d = tmp_path_factory.mktemp("portfolio")
    copy_examples(d)
    write_portfolio(
        d,
        name="portfolio.toml",
        campaigns=["*.toml"],
        seed=SEED,
        paths=PATHS,
        risk_levels=[0.95, 0.99],
    )
    return d


@pytest.fixture(scope="module")
def full(example_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> fc.Report:
    """An uninterrupted report of the example portfolio."""
    return fc.report(example_dir / "portfolio.toml", tmp_path_factory.mktemp("full"))


def _results(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path)


def _meta(path: Path) -> dict[str, Any]:
    raw = pq.read_schema(path).metadata[METADATA_KEY]
    meta: dict[str, Any] = json.loads(raw)
    return meta


def _without_clock(html: str) -> str:
    """The page without what the wall clock put in it: creation time, seconds per campaign."""
    html = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<created>", html)
    return re.sub(r"&middot; \d+\.\d\d s &middot;", "&middot; <took> &middot;", html)


def test_report_writes_three_files_and_nothing_else(full: fc.Report) -> None:
    assert sorted(p.name for p in full.out.iterdir()) == [
        "report.html",
        "results.parquet",
        "summary.parquet",
    ]  # no temporary files, the kept campaigns removed once the report is written
    assert full.computed == 7 and full.reused == 0


def test_results_hold_each_campaigns_run(full: fc.Report, example_dir: Path) -> None:
    """One row per path and campaign, in portfolio order (the glob's sorted matches), and a
    campaign's rows are exactly `forecast.run`'s path table for the same seed."""
    results = _results(full.results_path)
    names = sorted(p.stem for p in example_dir.glob("*.toml") if p.stem != "portfolio")
    assert full.portfolio.names == names
    assert results.height == len(names) * PATHS
    assert results.get_column("campaign").unique(maintain_order=True).to_list() == names
    assert pq.ParquetFile(full.results_path).num_row_groups == len(names)  # one per campaign
    for name in names:
        alone = fc.run(example_dir / f"{name}.toml", paths=PATHS, seed=SEED)
        rows = results.filter(pl.col("campaign") == name).drop("campaign")
        assert rows.equals(alone.paths), name


def test_summary_and_ranking_follow_from_the_results(full: fc.Report) -> None:
    results = _results(full.results_path)
    summary = pl.read_parquet(full.summary_path)
    assert summary.equals(full.summary)
    for name in full.portfolio.names:
        rows = results.filter(pl.col("campaign") == name)
        want = summarize(rows, report_module.REPORT_METRICS, (0.95, 0.99))
        got = summary.filter(pl.col("campaign") == name).drop("campaign", "method")
        assert got.equals(want), name
        profit = rows.get_column("profit").to_numpy()
        var99, cvar99 = tail_risk(profit, 0.99)
        row = got.filter(pl.col("metric") == "profit").row(0, named=True)
        assert (row["var99"], row["cvar99"]) == (var99, cvar99)
        assert row["cvar99"] >= row["var99"] and row["cvar99"] >= row["cvar95"]
    ranking = full.ranking
    means = ranking.get_column("mean_profit").to_list()
    assert means == sorted(means, reverse=True)
    assert ranking.get_column("rank").to_list() == list(range(1, 8))
    assert ranking.get_column("value").to_list() == means  # ranked by mean_profit


def test_parquet_metadata_round_trips(full: fc.Report, example_dir: Path) -> None:
    """The results' key-value metadata holds everything to trace and rerun each campaign."""
    meta = _meta(full.results_path)
    assert meta == json.loads(json.dumps(full.metadata))
    assert meta["kind"] == "portfolio_results"
    assert {**_meta(full.summary_path), "kind": "portfolio_results"} == meta
    assert meta["seed"] == SEED and meta["paths"] == PATHS
    assert meta["risk_levels"] == [0.95, 0.99] and meta["currency"] == "CNY"
    assert meta["versions"] == provenance.versions()
    assert meta["code_sha256"] == provenance.code_digest()
    file = example_dir / "portfolio.toml"
    assert meta["portfolio"]["file"] == str(file.resolve())
    assert meta["portfolio"]["file_sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert meta["portfolio"]["content"]["campaigns"] == ["*.toml"]
    assert meta["param_hash"] == fc.load_portfolio(file).param_hash()
    results = _results(full.results_path)
    for entry in meta["portfolio"]["campaigns"]:
        name = entry["name"]
        strategy = strategy_from_dict(meta["strategies"][name], "metadata")
        assert strategy_hash(strategy) == entry["strategy_sha256"]
        assert strategy_hash(strategy) == strategy_hash(fc.load(entry["file"]))
        if name in ("micro_then_mega", "amateur_swarm"):  # rerun two from the metadata alone
            again = fc.run(strategy, meta["paths"], meta["seed"], method=meta["methods"][name])
            rows = results.filter(pl.col("campaign") == name).drop("campaign")
            assert rows.equals(again.paths)


def test_param_hash_changes_with_any_setting_or_strategy(example_dir: Path) -> None:
    pf = fc.load_portfolio(example_dir / "portfolio.toml")
    import dataclasses

    base = pf.param_hash()
    assert dataclasses.replace(pf, seed=SEED + 1).param_hash() != base
    assert dataclasses.replace(pf, risk_levels=(0.9,), rank_by="mean_profit").param_hash() != base
    changed = dataclasses.replace(
        pf.campaigns[0], strategy=pf.campaigns[0].strategy.with_market(trust_penalty=0.1)
    )
    other = dataclasses.replace(pf, campaigns=(changed, *pf.campaigns[1:]))
    assert other.param_hash() != base
    assert dataclasses.replace(pf, description="other words").param_hash() == base


def test_resume_after_ctrl_c_equals_an_uninterrupted_run(
    full: fc.Report, example_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after three campaigns keeps them and leaves an earlier report's files whole;
    --resume computes only the other four, and writes the same bytes as the uninterrupted
    report (the HTML differs only in the times it shows)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.parquet").write_bytes(b"an earlier report")
    (out / "notes.txt").write_text("the user's own file")
    real = report_module.campaign_output
    calls: list[str] = []

    def stopping(pf: Any, campaign: Any, *args: Any, **kw: Any) -> Any:
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(campaign.name)
        return real(pf, campaign, *args, **kw)

    monkeypatch.setattr(report_module, "campaign_output", stopping)
    with pytest.raises(fc.ReportInterrupted) as stop:
        fc.report(example_dir / "portfolio.toml", out)
    assert (stop.value.done, stop.value.total) == (3, 7)
    assert len(list((out / ".forecast-parts").glob("*.parquet"))) == 3
    assert (out / "results.parquet").read_bytes() == b"an earlier report"
    assert not (out / "summary.parquet").exists()

    monkeypatch.setattr(report_module, "campaign_output", real)
    notes: list[str] = []
    resumed = fc.report(example_dir / "portfolio.toml", out, resume=True, log=notes.append)
    assert (resumed.reused, resumed.computed) == (3, 4)
    assert any("reused 3 of 7" in n for n in notes)
    for name in ("results.parquet", "summary.parquet"):
        assert (out / name).read_bytes() == (full.out / name).read_bytes(), name
    html = (out / "report.html").read_text()
    assert _without_clock(html) == _without_clock(full.html_path.read_text())
    assert (out / "notes.txt").read_text() == "the user's own file"
    assert not (out / ".forecast-parts").exists()


def test_resume_recomputes_campaigns_whose_inputs_changed(
    example_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept campaign is reused only under the same key: after the seed changed, resuming
    recomputes everything and matches a fresh report of the new portfolio."""
    import dataclasses

    pf = fc.load_portfolio(example_dir / "portfolio.toml")
    pf = dataclasses.replace(pf, campaigns=pf.campaigns[:3], paths=500)
    real = report_module.campaign_output
    calls: list[int] = []

    def stopping(*args: Any, **kw: Any) -> Any:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(report_module, "campaign_output", stopping)
    with pytest.raises(fc.ReportInterrupted):
        fc.report(pf, tmp_path / "a")
    monkeypatch.setattr(report_module, "campaign_output", real)
    changed = dataclasses.replace(pf, seed=SEED + 1)
    resumed = fc.report(changed, tmp_path / "a", resume=True)
    assert (resumed.reused, resumed.computed) == (0, 3)
    fresh = fc.report(changed, tmp_path / "b")
    assert (tmp_path / "a" / "results.parquet").read_bytes() == fresh.results_path.read_bytes()


def test_a_new_report_discards_what_a_stopped_one_kept(
    example_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    pf = fc.load_portfolio(example_dir / "portfolio.toml")
    pf = dataclasses.replace(pf, campaigns=pf.campaigns[:2], paths=300)
    real = report_module.campaign_output
    calls: list[int] = []

    def stopping(*args: Any, **kw: Any) -> Any:
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(report_module, "campaign_output", stopping)
    with pytest.raises(fc.ReportInterrupted):
        fc.report(pf, tmp_path)
    monkeypatch.setattr(report_module, "campaign_output", real)
    notes: list[str] = []
    again = fc.report(pf, tmp_path, log=notes.append)
    assert (again.reused, again.computed) == (0, 2)
    assert notes == ["discarded 1 campaign kept by a stopped report (--resume keeps them)"]


def test_money_in_another_currency(example_dir: Path, tmp_path: Path) -> None:
    """currency USD with fx_per_cny: every money column is the CNY figure times the rate;
    counts and roi are unchanged."""
    import dataclasses

    pf = fc.load_portfolio(example_dir / "portfolio.toml")
    pf = dataclasses.replace(pf, campaigns=pf.campaigns[:2], paths=400)
    cny = fc.report(pf, tmp_path / "cny")
    usd = fc.report(dataclasses.replace(pf, currency="USD", fx_per_cny=0.14), tmp_path / "usd")
    a, b = _results(cny.results_path), _results(usd.results_path)
    assert b.select(MONEY_COLUMNS).equals(a.select(pl.col(MONEY_COLUMNS) * 0.14))
    others = [c for c in a.columns if c not in MONEY_COLUMNS]
    assert b.select(others).equals(a.select(others))
    pa_, pb = (r.summary.filter(pl.col("metric") == "profit") for r in (cny, usd))
    np.testing.assert_allclose(pb["cvar99"].to_numpy(), 0.14 * pa_["cvar99"].to_numpy())
    assert _meta(usd.results_path)["currency"] == "USD"
    assert "money in USD (CNY x 0.14)" in usd.html_path.read_text()


#: Campaigns of the Ctrl-C test: the signal is sent once two are kept.
CLI_CAMPAIGNS = 12


def _part_count(out: Path) -> int:
    return len(list((out / ".forecast-parts").glob("*.parquet")))


def test_cli_ctrl_c_keeps_finished_campaigns_and_resume_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real SIGINT to `forecast report` while it works: exit code 130, the finished
    campaigns kept, a message saying how to continue; `--resume` then writes what an
    uninterrupted report writes."""
    plans = tmp_path / "plans"
    variants(plans, "micro_only", CLI_CAMPAIGNS)
    portfolio = write_portfolio(
        tmp_path, campaigns=["plans/*.toml"], seed=SEED, paths=3000, risk_levels=[0.95]
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "forecast.cli", "report", str(portfolio), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while _part_count(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    kept = _part_count(out)
    assert 2 <= kept <= CLI_CAMPAIGNS  # all of them if the signal came while drawing
    assert f"of {CLI_CAMPAIGNS} campaigns are kept in {out / '.forecast-parts'}" in err
    assert "--resume" in err
    assert not (out / "results.parquet").exists()

    assert main(["report", str(portfolio), "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr()
    assert f"{CLI_CAMPAIGNS - kept} computed, {kept} reused" in printed.out
    fresh = fc.report(portfolio, tmp_path / "fresh")
    for name in ("results.parquet", "summary.parquet"):
        assert (out / name).read_bytes() == (fresh.out / name).read_bytes(), name


_KILL_MID_WRITE = """
import sys, time
import pyarrow.parquet as pq
import forecast as fc

real = pq.ParquetWriter.write_table
def slow(self, table, *args, **kw):
    real(self, table, *args, **kw)
    if ".results.parquet." in str(self.where):  # the results file, being written
        print("MID-WRITE", flush=True)
        time.sleep(600)
pq.ParquetWriter.write_table = slow
fc.report(sys.argv[1], sys.argv[2])
"""


def test_killing_the_writer_leaves_the_old_files_intact(full: fc.Report, tmp_path: Path) -> None:
    """SIGKILL while results.parquet is being written (after its first row group): the
    previous report's files are untouched, and the next report clears the temporary."""
    out = tmp_path / "out"
    shutil.copytree(full.out, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    portfolio = full.portfolio.source
    assert portfolio is not None
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_MID_WRITE, str(portfolio), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the writer is mid-way
    assert line.strip() == "MID-WRITE", proc.stderr.read() if proc.stderr else ""
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    stale = list(out.glob(".results.parquet.*.tmp"))
    assert len(stale) == 1 and stale[0].stat().st_size > 0  # the killed write, half done
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")} == before
    pq.read_table(out / "results.parquet")  # still a whole Parquet file
    again = fc.report(portfolio, out)
    assert not list(out.glob(".*.tmp")) and not (out / ".forecast-parts").exists()
    assert again.results_path.read_bytes() == before["results.parquet"]


def test_staged_files_move_together_or_not_at_all(tmp_path: Path) -> None:
    from forecast.results.io import staged

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    with pytest.raises(RuntimeError), staged(a, b) as (ta, tb):
        ta.write_text("new a")
        tb.write_text("new b")
        raise RuntimeError("stopped before the move")
    assert a.read_text() == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    os.chmod(a, 0o640)
    with staged(a, b) as (ta, tb):
        ta.write_text("new a")
        tb.write_text("new b")
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert a.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its permissions


def test_report_from_python_objects(tmp_path: Path) -> None:
    """`Portfolio.of` builds a portfolio from strategies; names come from the mapping."""
    from forecast import examples

    plans = {
        "first": fc.load(examples.path("micro_only")),
        "second": fc.load(examples.path("one_mid_influencer")),
    }
    pf = fc.Portfolio.of(plans, seed=3, paths=300, rank_by="p_loss")
    done = fc.report(pf, tmp_path)
    assert sorted(done.summary.get_column("campaign").unique().to_list()) == ["first", "second"]
    p_loss = done.ranking.get_column("p_loss").to_list()
    assert p_loss == sorted(p_loss)  # lower is better
    meta = _meta(done.results_path)
    assert meta["portfolio"]["file"] is None and meta["portfolio"]["campaigns"][0]["file"] is None


def test_names_in_any_script_and_markup_are_shown_as_written(tmp_path: Path) -> None:
    """A Chinese campaign name draws (as boxes in the figures, no warning: warnings are
    errors here) and appears as written in the page; markup in a name is escaped."""
    from forecast import examples

    s = fc.load(examples.path("one_mid_influencer"))
    pf = fc.Portfolio.of({"火锅 团购": s, "<b>bold</b>": s}, seed=2, paths=200)
    done = fc.report(pf, tmp_path)
    page = done.html_path.read_text(encoding="utf-8")
    assert "火锅 团购" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


def test_content_checksum_is_of_values_not_of_chunks() -> None:
    """The kept part's checksum: the same for any chunking of the same values (Parquet reads
    a table of more than 131,072 rows back in several chunks), for string, large string and
    string view columns alike, and different as soon as one value or name differs."""
    import pyarrow as pa

    rng = np.random.default_rng(3)
    n = 200_000
    frame = pl.DataFrame(
        {
            "campaign": ["a"] * n,
            "path": np.arange(n),
            "profit": rng.normal(size=n),
            "flag": rng.random(n) < 0.5,
            "maybe": [None if i % 7 == 0 else float(i) for i in range(n)],
        }
    )
    table = frame.to_arrow()
    digest = report_module.content_sha256(table)
    for size in (1, 4096, 131_072, 199_999):
        rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=size))
        assert report_module.content_sha256(rechunked) == digest, size
    plain = table.set_column(0, "campaign", table.column(0).cast(pa.string()))
    assert report_module.content_sha256(plain) == digest
    changed = frame.with_columns(
        pl.when(pl.col("path") == n - 1).then(0.5).otherwise(pl.col("profit")).alias("profit")
    )
    assert report_module.content_sha256(changed.to_arrow()) != digest
    assert report_module.content_sha256(frame.rename({"flag": "other"}).to_arrow()) != digest
    assert report_module.content_sha256(frame.slice(1).to_arrow()) != digest


#: Paths per campaign of the large-report test: past the 131,072 rows that Parquet reads
#: back as one chunk.
LARGE_PATHS = 140_000


def test_a_report_past_131072_paths_resumes_to_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report of 140,000 paths a campaign runs, and resuming it after Ctrl-C (one of two
    campaigns kept) writes the bytes of the uninterrupted report; a kept part that is a
    directory is replaced, not an error."""
    plans = tmp_path / "plans"
    variants(plans, "micro_only", 2)
    portfolio = write_portfolio(
        tmp_path, campaigns=["plans/*.toml"], seed=SEED, paths=LARGE_PATHS, risk_levels=[0.95]
    )
    full = fc.report(portfolio, tmp_path / "full")
    assert pl.read_parquet(full.results_path).height == 2 * LARGE_PATHS

    out = tmp_path / "out"
    real = report_module.campaign_output
    calls: list[str] = []

    def stopping(pf: Any, campaign: Any, *args: Any, **kw: Any) -> Any:
        if calls:
            raise KeyboardInterrupt
        calls.append(campaign.name)
        return real(pf, campaign, *args, **kw)

    monkeypatch.setattr(report_module, "campaign_output", stopping)
    with pytest.raises(fc.ReportInterrupted):
        fc.report(portfolio, out)
    monkeypatch.setattr(report_module, "campaign_output", real)
    pf = fc.load_portfolio(portfolio)
    second = report_module.campaign_key(pf, pf.campaigns[1])
    (out / ".forecast-parts" / f"{second}.parquet").mkdir()  # in the way of the second part
    notes: list[str] = []
    resumed = fc.report(portfolio, out, resume=True, log=notes.append)
    assert (resumed.reused, resumed.computed) == (1, 1), notes
    for name in ("results.parquet", "summary.parquet"):
        assert (out / name).read_bytes() == (full.out / name).read_bytes(), name


def test_a_lock_of_a_reused_pid_is_taken_over_and_a_live_one_named(tmp_path: Path) -> None:
    """The lock file holds the writer's PID and start time: a lock naming a live process
    that started at another time (the PID reused) is stale and taken over; a lock of a live
    report is refused in one line that names the lock file."""
    out = tmp_path / "out"
    out.mkdir()
    lock = out / report_module.LOCK
    parent = os.getppid()
    lock.write_text(f"{parent} 1\n")  # a live PID, but not the process that wrote the lock
    with report_module.report_lock(out):
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not lock.exists()
    started = report_module._started(parent)
    lock.write_text(f"{parent} {started}\n")  # the live process that wrote it
    with pytest.raises(fc.PortfolioError) as err:
        with report_module.report_lock(out):
            pass  # pragma: no cover
    assert str(lock) in str(err.value) and "\n" not in str(err.value)
    assert lock.exists()  # another report's lock is never removed
