"""calibration.html: what a fit to past sessions says, on one self-contained page.

Per host and output, the observed sessions against their posterior predictive intervals
(5-95 % and 25-75 %; an observed value outside the 90 % interval is drawn in red); the PIT
histograms of each output (uniform if the model is calibrated); the share of sessions
inside the 90 % intervals; the table of fitted parameters. The page is built like the
report's (`forecast.reporting.html`): inline styles, PNG data URIs, every name escaped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from forecast.reporting.html import _STYLE, _img, _num, _table
from forecast.reporting.plots import _png

if TYPE_CHECKING:
    from forecast.analysis.calibrate import Calibration

#: Outputs drawn per host, with their axis labels.
PANELS = (
    ("views", "views"),
    ("units", "units sold"),
    ("likes", "likes"),
    ("avg_stay_s", "average stay, s"),
    ("gmv", "GMV, CNY"),
)
#: PIT histogram bins (10: a calibrated model puts 10 % of sessions in each).
PIT_BINS = 10
#: Hosts drawn one figure each (those with most sessions, ties in the fit's order); the
#: others get a row of the coverage table instead, so a page of 1,000 hosts costs what a page
#: of 12 does (about a second a figure).
MAX_HOST_FIGURES = 12


def drawn_hosts(table: pl.DataFrame, hosts: list[str]) -> list[str]:
    """The hosts that get a figure: at most `MAX_HOST_FIGURES`, most sessions first."""
    counts = dict(
        table.group_by("influencer").agg(pl.col("session").n_unique().alias("n")).iter_rows()
    )
    order = sorted(range(len(hosts)), key=lambda i: (-counts.get(hosts[i], 0), i))
    return [hosts[i] for i in order[:MAX_HOST_FIGURES]]


def host_coverage(table: pl.DataFrame) -> pl.DataFrame:
    """Per host: sessions, and the share of its observed values inside the 90 % interval."""
    return (
        table.group_by("influencer", maintain_order=True)
        .agg(
            pl.col("tier").first(),
            pl.col("session").n_unique().alias("sessions"),
            pl.col("inside90").drop_nulls().mean().alias("inside90"),
        )
        .sort("sessions", descending=True, maintain_order=True)
    )


def host_figure(table: pl.DataFrame, host: str) -> bytes:
    """The observed sessions of ``host`` against their predictive intervals, one panel per
    output, sessions in time order."""
    from matplotlib.figure import Figure

    rows = table.filter(pl.col("influencer") == host)
    fig = Figure(figsize=(11.0, 1.9 * len(PANELS)), dpi=100)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.05, top=0.95, hspace=0.45)
    axes = fig.subplots(len(PANELS), 1, sharex=True)
    for ax, (output, label) in zip(axes, PANELS, strict=True):
        r = rows.filter(pl.col("output") == output).sort("session")
        x = np.arange(r.height)
        lo, hi = r.get_column("p05").to_numpy(), r.get_column("p95").to_numpy()
        q1, q3 = r.get_column("p25").to_numpy(), r.get_column("p75").to_numpy()
        ax.vlines(x, lo, hi, color="#9ab8d8", linewidth=1.5)
        ax.vlines(x, q1, q3, color="#2f6db3", linewidth=3.5)
        obs = r.get_column("observed").to_numpy().astype(np.float64)
        inside = r.get_column("inside90").to_numpy()
        ok = np.isfinite(obs)
        good = ok & (inside == True)  # noqa: E712 (a numpy object array of bools and None)
        ax.scatter(x[good], obs[good], s=10, color="#111", zorder=3)
        ax.scatter(x[ok & ~good], obs[ok & ~good], s=14, color="#d62728", zorder=3)
        if np.nanmin(np.where(ok, obs, np.nan), initial=np.inf) > 0 and np.all(lo > 0):
            ax.set_yscale("log")
        ax.set_ylabel(label, fontsize=9)
        ax.grid(True, color="#e4e4e4", linewidth=0.7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_title(
        f"{host}: observed (dots; red outside 90 %) vs predictive 5-95 % and 25-75 %",
        fontsize=10,
        loc="left",
    )
    axes[-1].set_xlabel("session, in time order")
    return _png(fig)


def pit_figure(table: pl.DataFrame) -> bytes:
    """PIT histograms of each output over all sessions."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 2.4), dpi=100)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.2, top=0.85, wspace=0.3)
    axes = fig.subplots(1, len(PANELS))
    for ax, (output, label) in zip(axes, PANELS, strict=True):
        pit = table.filter((pl.col("output") == output) & pl.col("pit").is_not_null())
        values = pit.get_column("pit").to_numpy()
        ax.hist(values, bins=PIT_BINS, range=(0, 1), color="#2f6db3", density=True)
        ax.axhline(1.0, color="#555", linestyle="--", linewidth=1)
        ax.set_title(f"{label} ({values.size})", fontsize=9)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=8)
    return _png(fig)


def render(cal: Calibration, table: pl.DataFrame) -> str:
    """The page, from the calibration and its in-sample `Calibration.predict` table."""
    from forecast.analysis.predictive import coverage

    meta = cal.meta
    cov = coverage(table)
    cov_rows = [[html.escape(o), f"{c:.1%}", _num(n)] for o, c, n in cov.iter_rows()]
    summary = cal.summary()
    sum_rows = [
        [
            html.escape(r["tier"]),
            html.escape(r["host"] or "(tier)"),
            html.escape(r["parameter"]),
            f"{r['mean']:.4g}",
            f"{r['sd']:.3g}",
            f"{r['q05']:.4g}",
            f"{r['q95']:.4g}",
            _num(r["sessions"]),
        ]
        for r in summary.iter_rows(named=True)
    ]
    drawn = drawn_hosts(table, list(cal.hosts))
    hosts = "".join(
        f"<h3>{html.escape(h)} ({html.escape(cal.hosts[h].value)})</h3>"
        + _img(host_figure(table, h), f"{h}: observed against predictive")
        for h in drawn
    )
    if len(drawn) < len(cal.hosts):
        rest = host_coverage(table.filter(~pl.col("influencer").is_in(drawn)))
        rows = [
            [
                html.escape(h),
                html.escape(t),
                _num(n),
                "&ndash;" if c is None else f"{c:.0%}",
            ]
            for h, t, n, c in rest.iter_rows()
        ]
        hosts += (
            f"<p class=note>{_num(len(drawn))} of {_num(len(cal.hosts))} hosts are drawn (those "
            "with most sessions); the others, by sessions:</p>"
            + _table(["host", "tier", "sessions", "observed values inside 90 %"], rows, left=2)
        )
    notes = "".join(f"<p class=note>{html.escape(n)}</p>" for n in cal.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Calibration of {html.escape(meta["source"])}</title>
<style>{_STYLE}</style></head><body>
<h1>Calibration to past sessions</h1>
<p class=facts>{_num(meta["sessions"])} sessions of {_num(len(cal.hosts))} hosts from
<code>{html.escape(meta["source"])}</code>; seed {meta["seed"]}, {_num(meta["draws"])} posterior
draws; data SHA-256 <code>{html.escape(meta["data_digest"][:16])}</code>&hellip;;
forecast {html.escape(meta["versions"]["forecast"])}.</p>
<p class=note>Method: {html.escape(meta["settings"]["method"])}. Each host's levels (views per
hour, stay, likes per minute, conversion, GMV per unit) are fitted relative to its tier's
preset, the hosts of a tier share a population, and each session varies by the simulator's
own session laws. The intervals below are in-sample posterior predictive intervals of each
observed session; a held-out check is <code>Calibration.predict</code> on later sessions.</p>
{notes}
<h2>Inside the 90 % predictive interval</h2>
{_table(["output", "share of sessions", "sessions"], cov_rows)}
<h2>PIT histograms</h2>
<p class=note>The predictive CDF at each observed value; flat (the dashed line) when the
predictive distribution is calibrated, U-shaped when it is too narrow, a hump when too wide.</p>
{_img(pit_figure(table), "PIT histograms")}
<h2>Hosts: observed sessions against their predictive intervals</h2>
{hosts}
<h2>Fitted parameters</h2>
<p class=note>Host rows: the Influencer fields of the fitted host (posterior mean, sd, 5 % and
95 % quantiles). Tier rows: a new host's fields, the between-host sd (<code>host_*_sd</code>,
log units) and the session-core sd (<code>*_sigma</code>, log units).</p>
{_table(["tier", "host", "parameter", "mean", "sd", "q05", "q95", "sessions"], sum_rows, left=3)}
</body></html>
"""


__all__ = [
    "MAX_HOST_FIGURES",
    "drawn_hosts",
    "host_coverage",
    "host_figure",
    "pit_figure",
    "render",
]
