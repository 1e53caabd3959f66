"""What ``forecast optimize`` writes: the best plan as a strategy file, every evaluated
candidate as Parquet, and optimize.html, one self-contained page (built like the report's,
`forecast.reporting.html`): the best plan and why it wins, the finalists with their
intervals and P(best beats each), the frontier of mean profit against CVaR over all
candidates, and the best plan's profit distribution beside the runner-up's."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

from forecast.reporting.html import _STYLE, _img, _num, _table

if TYPE_CHECKING:
    from forecast.analysis.optimize import Optimization

_SESSION_HEADER = (
    "influencer",
    "tier",
    "day",
    "hours",
    "discount",
    "products a stream",
    "fees (CNY)",
    "commission",
)

#: Files written into the output directory.
FILES = ("best.toml", "candidates.parquet", "optimize.html")


def render(opt: Optimization) -> str:
    """The page, as HTML text."""
    from forecast.reporting.plots import frontier_chart, two_distributions

    e = html.escape
    obj = opt.objective
    cands = opt.candidates
    best_key = opt.best.key
    keys = cands["key"].to_list()
    marks = [(keys.index(best_key), "best plan")]
    if opt.runner_up is not None and opt.runner_up.key in keys:
        marks.append((keys.index(opt.runner_up.key), "runner-up"))
    frontier = frontier_chart(
        cands["mean_profit"].to_numpy(),
        cands["cvar95"].to_numpy(),
        cands["paths"].to_numpy(),
        marks,
    )
    figures = [_img(frontier, "mean profit against CVaR95 of every candidate")]
    if opt.best_profit is not None and opt.runner_up_profit is not None:
        dist = two_distributions(opt.best_profit, opt.runner_up_profit, ("best plan", "runner-up"))
        figures.append(_img(dist, "profit distributions of the best plan and the runner-up"))
    fin = opt.finalists
    fresh = "ci_low" in fin.columns
    header = ["rank", "plan", f"{e(obj.label)}", "± mcse"]
    header += ["95 % interval", "P(best beats it)"] if fresh else []
    header += ["mean profit", "CVaR95", "P(loss)", "fees", "paths"]
    rows = []
    for r in fin.iter_rows(named=True):
        row = [str(r["rank"]), e(r["plan"]), _num(r["objective"]), _num(r["mcse"])]
        if fresh:
            p = r["p_best_beats"]
            row += [
                f"{_num(r['ci_low'])} .. {_num(r['ci_high'])}",
                "&ndash;" if p is None else f"{p:.3f}",
            ]
        row += [
            _num(r["mean_profit"]),
            _num(r["cvar95"]),
            f"{r['p_loss']:.3f}",
            _num(r["fees"]),
            _num(r["paths"]),
        ]
        rows.append(row)
    sessions = [
        [
            e(s.influencer.name),
            e(s.influencer.tier.value),
            f"{s.day:g}",
            f"{s.hours:g}",
            e(", ".join(f"{p.name} {s.discount(p) * 100:g} %" for p in s.products)),
            str(s.assortment),
            _num(s.influencer.slot_fee + s.influencer.experience_cost),
            f"{s.influencer.commission_rate * 100:g} %",
        ]
        for s in opt.strategy.sessions
    ]
    budget = "" if opt.space.budget is None else f" of a budget of CNY {opt.space.budget:,.0f}"
    size = "" if opt.size is None else f" of {opt.size:,}"
    state = (
        "<p class=note><b>Interrupted</b>: this is the best plan so far, not re-run on fresh "
        "streams.</p>"
        if opt.interrupted
        else ""
    )
    why = "".join(f"<li>{e(w)}</li>" for w in opt.why)
    settings = {
        k: opt.meta[k] for k in ("seed", "paths", "rungs", "final_paths", "search") if k in opt.meta
    }
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>optimize: {e(opt.space.name)}</title><style>{_STYLE}</style></head><body>
<h1>Best plan of {e(opt.space.name)}</h1>
<p class=facts>{e(obj.describe())}; {opt.evaluated:,}{size} plans evaluated ({e(opt.search)},
stopped: {e(opt.stopped_by)}) in {opt.elapsed_s:.1f} s; seed {opt.seed}</p>
{state}
<h2>The plan</h2>
<p><b>{e(opt.best.describe())}</b>; fees CNY {opt.space.fees(opt.best.lineup):,.0f}{budget}.
Its strategy file is <code>best.toml</code> (<code>forecast run best.toml</code>).</p>
{_table(_SESSION_HEADER, sessions, left=2)}
<h2>Why it wins</h2><ul>{why}</ul>
<h2>Finalists</h2>
<p class=note>The best candidates of the search re-run on fresh streams of
{opt.final_paths:,} paths: one ranks them, a second, independent of every choice, gives the
objective, its 95 % interval and P(best beats it), the probability that the best plan's
objective is truly the better one given the Monte Carlo error of the paired difference.</p>
{_table(header, rows, left=2)}
<h2>Frontier</h2>
<p class=note>Every evaluated candidate at the most paths it reached on the search seed (the
candidates share its paths, so their differences are paired). The frontier joins the
candidates that no other beats on both mean profit and CVaR95.</p>
<div class=figs>{"".join(figures)}</div>
<h2>Settings</h2><p class=note><code>{e(json.dumps(settings))}</code></p>
</body></html>
"""


def write(opt: Optimization, out: str | Path) -> list[Path]:
    """Write `FILES` into ``out`` (made if missing), all or nothing: each is staged under a
    temporary name and the three are moved into place together."""
    from forecast.results.io import staged, write_table

    folder = Path(out)
    targets = [folder / name for name in FILES]
    page = render(opt)
    toml = opt.to_toml()
    meta = dict(opt.meta)
    meta["interrupted"] = opt.interrupted
    with staged(*targets) as (toml_tmp, table_tmp, html_tmp):
        toml_tmp.write_text(toml, encoding="utf-8")
        write_table(opt.candidates, meta, table_tmp)
        html_tmp.write_text(page, encoding="utf-8")
    return targets


__all__ = ["FILES", "render", "write"]
