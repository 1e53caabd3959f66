"""report.html: one self-contained page. Styles are inline, figures are PNG data URIs, there
is no script and no link to anything outside the file, so it opens offline and can be
mailed or archived as it is. Every name from a user's files is HTML-escaped."""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.model.validation import plural

if TYPE_CHECKING:
    import polars as pl

    from forecast.reporting.plots import CampaignPlot
    from forecast.reporting.portfolio import Portfolio

_STYLE = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d1d1f;
       margin: 0 auto; max-width: 1180px; padding: 24px 28px 60px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 36px 0 10px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 28px 0 4px; }
.facts { color: #555; margin: 2px 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 8px 0; }
th, td { padding: 3px 9px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { background: #f4f6f8; font-weight: 600; }
td.l, th.l { text-align: left; }
.figs { display: flex; flex-wrap: wrap; gap: 12px; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.scroll { overflow-x: auto; }
code { font-size: 12px; }
.note { color: #666; font-size: 13px; max-width: 900px; }
"""


def _img(png: bytes, alt: str) -> str:
    """An <img> with the PNG inline and its size in pixels."""
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
        f'width="{width}" height="{height}">'
    )


def _num(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "&ndash;"
    return f"{x:,.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """An HTML table; the first ``left`` columns are text (left-aligned)."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f"<{tag}{' class=l' if i < left else ''}>{v}</{tag}>" for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return f"<div class=scroll><table><tr>{cells('th', header)}</tr>{body}</table></div>"


def _larger(pf: Portfolio) -> bool:
    return pf.ranking_key()[2]


def _ranking(pf: Portfolio, ranking: pl.DataFrame, anchors: dict[str, str]) -> str:
    from forecast.results.risk import level_label

    cur = html.escape(pf.currency)
    header = ["rank", "campaign", "kernel"]
    header += [f"mean net sales ({cur})", f"mean profit ({cur})", "± mcse", "profit p5", "p95"]
    for x in pf.risk_levels:
        header += [f"VaR{level_label(x)}", f"CVaR{level_label(x)}"]
    header += ["P(loss)"]
    # the column ranked by is marked (every objective is one of the columns shown)
    ranked = {"mean_net_sales": 3, "mean_profit": 4, "p_loss": len(header) - 1}.get(pf.rank_by)
    if ranked is None:
        ranked = header.index(f"CVaR{pf.rank_by.removeprefix('cvar')}")
    header[ranked] = (
        f"<u>{header[ranked]}</u> &#9660;" if _larger(pf) else f"<u>{header[ranked]}</u> &#9650;"
    )
    rows = []
    for r in ranking.iter_rows(named=True):
        name = html.escape(r["campaign"])
        row = [
            str(r["rank"]),
            f'<a href="#{anchors[r["campaign"]]}">{name}</a>',
            r["method"],
            _num(r["mean_net_sales"]),
            _num(r["mean_profit"]),
            _num(r["profit_mcse"]),
            _num(r["profit_p5"]),
            _num(r["profit_p95"]),
        ]
        for x in pf.risk_levels:
            row += [_num(r[f"var{level_label(x)}"]), _num(r[f"cvar{level_label(x)}"])]
        row += [_num(r["p_loss"], 3)]
        rows.append(row)
    return _table(header, rows, left=3)


def _campaign_table(summary: pl.DataFrame, name: str) -> str:
    import polars as pl

    from forecast.results.summary import DEFAULT_METRICS

    # every metric of the summary, in its order, so the money rows add up mean for mean:
    # gmv - returns = net_sales, and net_sales - fees - commission - cost = profit
    shown = DEFAULT_METRICS
    part = summary.filter((pl.col("campaign") == name) & pl.col("metric").is_in(shown))
    order = {m: i for i, m in enumerate(shown)}
    rows = []
    for r in sorted(part.iter_rows(named=True), key=lambda r: order[r["metric"]]):
        digits = 2 if r["metric"] == "roi" else 0
        rows.append(
            [r["metric"]] + [_num(r[c], digits) for c in ("mean", "sd", "p5", "p50", "p95")]
        )
    return _table(["metric", "mean", "sd", "p5", "median", "p95"], rows)


def render(
    pf: Portfolio,
    summary: pl.DataFrame,
    ranking: pl.DataFrame,
    plots: Sequence[CampaignPlot],
    meta: dict[str, Any],
    tick: Callable[[int], None],
    tornados: Mapping[str, bytes] | None = None,
) -> str:
    """The page. ``tick(1)`` is called after each figure is drawn; ``tornados``: a tornado
    chart (PNG) per campaign name, shown in its section."""
    from forecast.reporting import plots as P
    from forecast.results.risk import level_label

    cur = pf.currency
    by_name = {p.name: p for p in plots}
    order = ranking.get_column("campaign").to_list()
    anchors = {name: f"c{i + 1}" for i, name in enumerate(order)}
    e = html.escape

    stats = np.array(
        [[by_name[n].profit[k] for k in ("p5", "p25", "p50", "p75", "p95", "mean")] for n in order]
    )
    comparison = P.comparison_chart(order, stats, cur)
    tick(1)
    first = pf.risk_levels[0]
    cvar = np.array([by_name[n].profit[f"cvar{level_label(first)}"] for n in order])
    risk_return = P.risk_return_chart(order, stats[:, 5], cvar, first, cur)
    tick(1)

    sections = []
    for rank, name in enumerate(order, start=1):
        p = by_name[name]
        risk = [
            (x, p.profit[f"var{level_label(x)}"], p.profit[f"cvar{level_label(x)}"])
            for x in pf.risk_levels
        ]
        hist = P.profit_histogram(p.hist, p.profit["mean"], risk, cur)
        tick(1)
        fan = P.fan_chart(p.session_labels, P.FAN_QUANTILES, p.fan, p.fan_mean, cur)
        tick(1)
        campaign = next(c for c in pf.campaigns if c.name == name)
        source = e(campaign.file.name) if campaign.file else "built in Python"
        sections.append(
            f'<section id="{anchors[name]}"><h3>{rank}. {e(name)}</h3>'
            f"<p class=facts>{source} &middot; {plural(len(p.session_labels), 'session')} &middot; "
            f"{e(p.method)} kernel &middot; {p.elapsed_s:.2f} s &middot; money in {e(cur)}</p>"
            f"{_campaign_table(summary, name)}"
            f"<div class=figs>{_img(hist, f'profit distribution of {name}')}"
            f"{_img(fan, f'cumulative net sales of {name}')}"
            + (_img(tornados[name], f"tornado of {name}") if tornados and name in tornados else "")
            + "</div></section>"
        )

    levels = ", ".join(f"{x:g}" for x in pf.risk_levels)
    fx = "" if cur == "CNY" else f" (CNY x {pf.fx_per_cny:g})"
    created = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    source = e(str(pf.source)) if pf.source else "built in Python"
    provenance = _table(
        ["item", "value"],
        [
            ["portfolio file", source],
            ["portfolio SHA-256", f"<code>{pf.source_sha256 or '&ndash;'}</code>"],
            ["parameter hash", f"<code>{meta['param_hash']}</code>"],
            ["code SHA-256", f"<code>{meta['code_sha256']}</code>"],
            ["seed", str(pf.seed)],
            ["paths per campaign", f"{pf.paths:,}"],
            ["kernel requested", e(pf.method)],
            ["versions", e(versions)],
            ["created", created],
        ],
        left=2,
    )
    description = f"<p class=note>{e(pf.description)}</p>" if pf.description else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Risk report: {e(pf.name)}</title><style>{_STYLE}</style></head><body>
<h1>Risk report: {e(pf.name)}</h1>
{description}
<p class=facts>{plural(len(order), "campaign")} &middot;
{plural(pf.paths, "Monte Carlo path")} each &middot; seed {pf.seed} &middot;
money in {e(cur)}{fx} &middot; risk levels {levels} &middot; ranked by {e(pf.rank_by)} &middot;
created {created}</p>
<p class=note>Profit is the brand's: net sales - commission - fees - cost. VaR is the loss
exceeded on at most (1 - level) of paths (positive: a loss); CVaR is the mean loss over those
worst paths. Every campaign uses the same seed, so campaigns sharing a session are compared
on the same draws. results.parquet holds every path; summary.parquet these figures.</p>
<h2>Ranking</h2>
{_ranking(pf, ranking, anchors)}
<h2>Comparison</h2>
<div class=figs>{_img(comparison, "profit distribution by campaign")}
{_img(risk_return, "mean profit against CVaR by campaign")}</div>
<h2>Campaigns</h2>
{"".join(sections)}
<h2>Provenance</h2>
{provenance}
</body></html>
"""
