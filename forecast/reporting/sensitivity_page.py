"""What ``forecast sensitivity`` writes: the indices, the tornado and the design as Parquet,
and sensitivity.html, one self-contained page (built like the report's,
`forecast.reporting.html`): per output the tornado chart and the Sobol (or Morris) bars,
the tables, and how much of the variance across the design is Monte Carlo noise."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from forecast.analysis.sensitivity import _pct
from forecast.reporting.html import _STYLE, _img, _num, _table

if TYPE_CHECKING:
    from forecast.analysis.sensitivity import Sensitivity

#: Files written into the output directory.
FILES = ("indices.parquet", "tornado.parquet", "design.parquet", "sensitivity.html")


def _digits(output: str) -> int:
    return 4 if output == "p_loss" else 0


def tornado_figure(result: Sensitivity, output: str) -> bytes:
    """The tornado chart of one output."""
    assert result.tornado is not None
    return tornado_png(result.tornado, output)


def tornado_png(table: pl.DataFrame, output: str, scale: float = 1.0) -> bytes:
    """The tornado chart of ``output`` from a tornado table (`forecast.analysis.sensitivity`),
    money multiplied by ``scale`` (a report's currency per CNY)."""
    from forecast.reporting.plots import tornado_chart

    rows = table.filter(pl.col("output") == output)
    money = output != "p_loss"
    k = scale if money else 1.0
    return tornado_chart(
        rows["input"].to_list(),
        rows["at_low"].to_numpy() * k,
        rows["at_high"].to_numpy() * k,
        float(rows["at_base"][0]) * k,
        output,
        [
            f"{lo:.4g} .. {hi:.4g}"
            for lo, hi in zip(rows["low_value"], rows["high_value"], strict=True)
        ],
        money=money,
    )


def _index_figure(result: Sensitivity, output: str) -> bytes:
    from forecast.reporting.plots import index_bars

    rows = result.indices.filter(pl.col("output") == output)
    names = rows["input"].to_list()
    if result.method == "sobol":
        s1, st = rows["S1"].to_numpy(), rows["ST"].to_numpy()
        return index_bars(
            names,
            s1,
            (rows["S1_high"] - rows["S1"]).to_numpy(),
            st,
            (rows["ST_high"] - rows["ST"]).to_numpy(),
            output,
        )
    return index_bars(
        names,
        rows["sigma"].to_numpy(),
        np.zeros(len(names)),
        rows["mu_star"].to_numpy(),
        rows["mu_star_conf"].to_numpy(),
        output,
        labels=("sigma (interactions, curvature)", "mu* (effect over the range)"),
    )


def render(result: Sensitivity) -> str:
    """The page, as HTML text."""
    e = html.escape
    parts = []
    for out in result.outputs:
        name = out.name
        digits = _digits(name)
        figs = [_img(_index_figure(result, name), f"{result.method} indices of {name}")]
        if result.tornado is not None:
            figs.insert(0, _img(tornado_figure(result, name), f"tornado of {name}"))
        rows = result.indices.filter(pl.col("output") == name)
        if result.method == "sobol":
            rows = rows.sort("ST", descending=True)
            header = ["input", "S1", "S1 interval", "ST", "ST interval"]
            body = [
                [
                    e(r["input"]),
                    f"{r['S1']:.3f}",
                    f"{r['S1_low']:.3f} .. {r['S1_high']:.3f}",
                    f"{r['ST']:.3f}",
                    f"{r['ST_low']:.3f} .. {r['ST_high']:.3f}",
                ]
                for r in rows.iter_rows(named=True)
            ]
        else:
            rows = rows.sort("mu_star", descending=True)
            header = ["input", "mu*", "± (interval)", "mu", "sigma"]
            body = [
                [
                    e(r["input"]),
                    _num(r["mu_star"], digits),
                    _num(r["mu_star_conf"], digits),
                    _num(r["mu"], digits),
                    _num(r["sigma"], digits),
                ]
                for r in rows.iter_rows(named=True)
            ]
        tornado_table = ""
        if result.tornado is not None:
            t = result.tornado.filter(pl.col("output") == name)
            tornado_table = _table(
                ["rank", "input", "law", "low", "high", "at low", "at high", "swing"],
                [
                    [
                        str(r["rank"]),
                        e(r["input"]),
                        e(r["law"]),
                        f"{r['low_value']:.6g}",
                        f"{r['high_value']:.6g}",
                        _num(r["at_low"], digits),
                        _num(r["at_high"], digits),
                        _num(r["swing"], digits),
                    ]
                    for r in t.iter_rows(named=True)
                ],
                left=3,
            )
        noise = result.noise.filter(pl.col("output") == name).row(0, named=True)
        parts.append(
            f"<h2>{e(name)}</h2><div class=figs>{''.join(figs)}</div>"
            f"{_table(header, body)}{tornado_table}"
            f"<p class=note>Monte Carlo noise: {100 * noise['noise_share']:.2f} % of the "
            f"variance of {e(name)} across the design on common random numbers "
            f"({noise['replicates']} points run again on an independent seed), against "
            f"{_pct(noise['independent_share'])} that independent streams would leave.</p>"
        )
    laws = _table(
        ["input", "law", "value in the strategy", "grid of values"],
        [
            [
                e(i.name),
                e(i.law.describe() + (" (posterior)" if i.posterior else "")),
                f"{i.base:.6g}",
                "16 levels (new watch-time integrals per value)" if i.shape else "exact",
            ]
            for i in result.inputs
        ],
        left=2,
    )
    cfg = result.settings
    what = (
        f"Morris, {cfg['trajectories']} trajectories on {cfg['levels']} levels"
        if result.method == "morris"
        else f"Sobol, N = {cfg['samples']} (Saltelli's scheme)"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>sensitivity: {e(result.strategy.name)}</title><style>{_STYLE}</style></head><body>
<h1>Sensitivity of {e(result.strategy.name)}</h1>
<p class=facts>{e(what)}; {result.evaluations:,} evaluations x {result.paths:,} paths on seed
{result.seed} (common random numbers), {e(result.kernel)} kernel, {result.elapsed_s:.1f} s</p>
<h2>Inputs</h2>{laws}
{"".join(parts)}
</body></html>
"""


def write(result: Sensitivity, out: str | Path) -> list[Path]:
    """Write `FILES` into ``out`` (made if missing), all or nothing (staged, then moved)."""
    from forecast.results.io import staged, write_table

    folder = Path(out)
    targets = [folder / name for name in FILES]
    from forecast.model.strategy_file import strategy_to_dict
    from forecast.results.provenance import versions

    meta = {
        "strategy": result.strategy.name,
        "strategy_dict": strategy_to_dict(result.strategy),
        "versions": versions(),
        "inputs": {i.name: i.law.describe() for i in result.inputs},
        "outputs": [o.name for o in result.outputs],
        **result.settings,
        "evaluations": result.evaluations,
    }
    page = render(result)
    tornado = result.tornado if result.tornado is not None else pl.DataFrame()
    with staged(*targets) as (ind_tmp, tor_tmp, des_tmp, html_tmp):
        write_table(result.indices, meta, ind_tmp)
        write_table(tornado, meta, tor_tmp)
        write_table(result.design, meta, des_tmp)
        html_tmp.write_text(page, encoding="utf-8")
    return targets


__all__ = ["FILES", "render", "tornado_figure", "tornado_png", "write"]
