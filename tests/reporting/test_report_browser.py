"""report.html in a real browser: headless Chromium (Debian's ``chromium``, which `.ci/run`
installs) driven by Playwright. Every figure must be decoded with a non-zero size, and the
page must ask for nothing but itself: no network request of any kind.

Without Chromium the test is skipped locally, and fails where FORECAST_REQUIRE_BROWSER=1
(set by `.ci/run`), so CI can never pass it by not running it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import forecast as fc
from tests.reporting.portfolios import SEED, copy_examples, write_portfolio

#: Flags for a root, sandboxed-network machine: no GPU, no sandbox (root), and none of
#: Chromium's own background traffic, which would otherwise show up as requests.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("FORECAST_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed, and FORECAST_REQUIRE_BROWSER=1")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """report.html of three bundled campaigns, and how many campaigns it shows."""
    d = tmp_path_factory.mktemp("browser")
    copy_examples(d)
    portfolio = write_portfolio(
        d,
        campaigns=["micro_then_mega.toml", "mega_only.toml", "amateur_swarm.toml"],
        seed=SEED,
        paths=1_000,
        risk_levels=[0.9, 0.99],
        currency="EUR",
        fx_per_cny=0.13,
        description='A <b>test</b> & "quoted" description',
    )
    done = fc.report(portfolio, d / "out")
    return done.html_path, 3


@contextlib.contextmanager
def loaded(path: Path) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The page at ``path`` loaded in headless Chromium, with every request it made and
    every error it logged."""
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            errors: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            yield page, requests, errors
        finally:
            browser.close()


def test_report_renders_every_figure_and_fetches_nothing(page_file: tuple[Path, int]) -> None:
    path, campaigns = page_file
    with loaded(path) as (page, requests, errors):
        images = page.evaluate(
            """() => Array.from(document.images).map(i => ({
                alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
                shown: i.getBoundingClientRect().width * i.getBoundingClientRect().height,
                src: i.currentSrc.slice(0, 22)}))"""
        )
        title = page.title()
        description = page.inner_text("p.note")
    # two figures across campaigns, and two per campaign
    assert len(images) == 2 + 2 * campaigns
    for img in images:
        assert img["complete"] and img["w"] > 100 and img["h"] > 100, img
        assert img["shown"] > 0, img
        assert img["src"] == "data:image/png;base64,", img
    alts = [img["alt"] for img in images]
    assert sum(a.startswith("profit distribution of ") for a in alts) == campaigns
    assert sum(a.startswith("cumulative net sales of ") for a in alts) == campaigns
    assert requests == [path.as_uri()]  # the page itself, nothing else
    assert errors == []
    assert title == "Risk report: portfolio"
    assert description == 'A <b>test</b> & "quoted" description'  # shown as text, escaped


def test_report_has_no_script_and_no_outside_reference(page_file: tuple[Path, int]) -> None:
    """What the browser test shows, checked on the text: nothing could fetch anything."""
    html = page_file[0].read_text()
    assert "<script" not in html.lower()
    values = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', html)
    assert len(values) > 8
    assert all(v.startswith(("data:image/png;base64,", "#")) for v in values), "outside link"
    assert not re.search(r'\b(?:src|href)\s*=\s*[^"\s]', html)  # every value quoted
    assert "@import" not in html and "url(" not in html


@pytest.fixture(scope="module")
def calibration_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """calibration.html of a small history with a host name that needs escaping, and how
    many hosts it shows."""
    import numpy as np
    import polars as pl

    from forecast.analysis import synthetic as syn
    from forecast.cli import main

    rng = np.random.default_rng(8)
    truths = [syn.draw_truth(fc.Tier.MID, 2, rng)]
    plan = syn.session_plan(truths, {h: 6 for h in truths[0].hosts}, rng)
    history = syn.synthetic_history(truths, plan, seed=1).with_columns(
        pl.col("influencer").replace("mid-1", 'Li <b>"Jiaqi"</b> & co')
    )
    d = tmp_path_factory.mktemp("calibration")
    history.write_csv(d / "past.csv")
    assert main(["calibrate", str(d / "past.csv"), "--out", str(d / "fit"), "--draws", "200"]) == 0
    return d / "fit" / "calibration.html", 2


def test_calibration_page_renders_every_figure_and_fetches_nothing(
    calibration_page: tuple[Path, int],
) -> None:
    path, hosts = calibration_page
    with loaded(path) as (page, requests, errors):
        images = page.evaluate(
            """() => Array.from(document.images).map(i => ({
                alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}))"""
        )
        headings = page.eval_on_selector_all("h3", "hs => hs.map(h => h.textContent)")
    assert errors == []
    assert len(images) == 1 + hosts  # the PIT histograms and one figure per host
    for img in images:
        assert img["complete"] and img["w"] > 100 and img["h"] > 100, img
    assert requests == [path.as_uri()]
    assert 'Li <b>"Jiaqi"</b> & co (mid)' in headings  # shown as text, escaped
    html = path.read_text()
    assert "<script" not in html.lower()
    values = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', html)
    assert values and all(v.startswith("data:image/png;base64,") for v in values)


def test_a_calibration_page_of_more_hosts_than_it_draws_lists_the_rest(
    calibration_page: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one figure allowed, the page draws the host with most sessions and lists the
    other, escaped, in the table of the rest, which the browser lays out within the page's
    width (no cell cut off or wider than the viewport)."""
    import polars as pl

    from forecast.analysis.calibrate import load_calibration
    from forecast.reporting import calibration_page as cp

    fit = calibration_page[0].parent
    cal = load_calibration(fit / "calibration.parquet")
    table = pl.read_parquet(fit / "predictive.parquet")
    monkeypatch.setattr(cp, "MAX_HOST_FIGURES", 1)
    path = tmp_path / "calibration.html"
    path.write_text(cp.render(cal, table), encoding="utf-8")
    with loaded(path) as (page, requests, errors):
        images = page.evaluate("() => document.images.length")
        rest = page.evaluate(
            """() => {
                const p = Array.from(document.querySelectorAll('p.note'))
                    .find(x => x.textContent.includes('hosts are drawn'));
                const t = p.nextElementSibling;
                const cells = Array.from(t.querySelectorAll('td')).map(c => c.textContent);
                const box = t.getBoundingClientRect();
                return {note: p.textContent, cells, right: box.right,
                        width: document.documentElement.clientWidth};
            }"""
        )
    assert errors == [] and requests == [path.as_uri()]
    assert images == 1 + 1  # the PIT histograms and the one host drawn
    assert "1 of 2 hosts are drawn" in rest["note"]
    drawn = cp.drawn_hosts(table, list(cal.hosts))
    other = next(h for h in cal.hosts if h not in drawn)
    assert other in rest["cells"] and "mid" in rest["cells"]
    assert rest["right"] <= rest["width"]


def test_optimize_page_renders_every_figure_and_fetches_nothing(tmp_path: Path) -> None:
    from forecast.analysis.plan_space import PlanSpace
    from forecast.reporting.optimize_page import write

    odd = 'Li <b>"Jiaqi"</b> & co'
    serum = fc.Product("serum", list_price=199.0, unit_cost=40.0, category="beauty")
    space = PlanSpace(
        pool=[fc.Influencer.preset("micro", odd), fc.Influencer.preset("micro", "amy")],
        products=[serum],
        hours={odd: 2.0, "amy": 2.0},
        max_booked=2,
        discount=[0.1, 0.2],
    )
    result = fc.optimize(space, paths=500, seed=1, final_paths=1000)
    path = write(result, tmp_path / "opt")[2]
    with loaded(path) as (page, requests, errors):
        images = page.evaluate(
            """() => Array.from(document.images).map(i => ({
                alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}))"""
        )
        cells = page.eval_on_selector_all("td", "ts => ts.map(t => t.textContent)")
    assert errors == []
    assert [i["alt"] for i in images] == [
        "mean profit against CVaR95 of every candidate",
        "profit distributions of the best plan and the runner-up",
    ]
    for img in images:
        assert img["complete"] and img["w"] > 100 and img["h"] > 100, img
    assert requests == [path.as_uri()]
    assert any(odd in c for c in cells)  # shown as text, escaped
    html = path.read_text()
    assert "<script" not in html.lower()
    values = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', html)
    assert values and all(v.startswith("data:image/png;base64,") for v in values)
