"""The report's figures, drawn with matplotlib and returned as PNG bytes.

Figures are built on `matplotlib.figure.Figure` with the Agg canvas, never through pyplot:
no global state, no display, no backend to configure. Fonts are matplotlib's bundled
DejaVu; a name with characters it lacks (Chinese, say) draws them as boxes in the figure
(the HTML around it shows the name as written) instead of warning on every figure.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from forecast.results.summary import QUANTILES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Resolution of every figure, dots per inch.
DPI = 100

#: Campaigns up to which the risk-return chart labels points with names, with ranks.
NAMED_POINTS = 8
NUMBERED_POINTS = 40

#: Size of each campaign's two figures, inches: two fit side by side on the page.
CAMPAIGN_FIGSIZE = (5.5, 3.3)

_BLUE = "#1f5a94"
_LIGHT = "#9fc2e7"
_RED = "#b3261e"
_ORANGE = "#d9822b"
_GREY = "#555555"
_LINES = ("--", ":", "-.", (0, (5, 1, 1, 1)))


@dataclass(frozen=True)
class Histogram:
    """A distribution binned for drawing: ``counts`` in ``len(edges) - 1`` bins over
    ``edges`` (currency units), and how many values fell outside (``below``, ``above``)."""

    counts: np.ndarray
    edges: np.ndarray
    below: int
    above: int

    @classmethod
    def of(cls, values: np.ndarray, must_show: Sequence[float], bins: int = 80) -> Histogram:
        """Bins over the 0.1 %-99.9 % range of ``values``, widened to take in every value of
        ``must_show`` (VaR and CVaR marks, the mean, zero), so a heavy tail does not squash
        the body into one bin."""
        finite = values[np.isfinite(values)]
        lo, hi = np.quantile(finite, [0.001, 0.999]) if finite.size else (0.0, 1.0)
        lo = min(float(lo), *must_show)
        hi = max(float(hi), *must_show)
        if hi <= lo:
            hi = lo + max(abs(lo), 1.0) * 1e-3
        counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
        return cls(counts, edges, int((finite < lo).sum()), int((finite > hi).sum()))


def _money(currency: str) -> object:
    from matplotlib.ticker import FuncFormatter

    def fmt(x: float, _: object = None) -> str:
        a = abs(x)
        if a >= 1e9:
            return f"{x / 1e9:,.1f}B"
        if a >= 1e6:
            return f"{x / 1e6:,.1f}M"
        if a >= 1e4:
            return f"{x / 1e3:,.0f}k"
        return f"{x:,.0f}"

    return FuncFormatter(fmt)


def _figure(
    width: float, height: float, margins: tuple[float, float, float, float] = (0.85, 0.2, 0.6, 0.35)
) -> tuple[Figure, Axes]:
    """A figure of ``width`` x ``height`` inches with one axes inside ``margins`` (left,
    right, bottom, top; inches)."""
    from matplotlib.figure import Figure

    # fixed margins (inches) rather than a layout engine, which costs more than the drawing
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.subplots_adjust(
        left=margins[0] / width,
        right=1 - margins[1] / width,
        bottom=margins[2] / height,
        top=1 - margins[3] / height,
    )
    ax = fig.subplots()
    ax.grid(True, color="#e4e4e4", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def profit_histogram(
    hist: Histogram,
    mean: float,
    risk: Sequence[tuple[float, float, float]],
    currency: str,
) -> bytes:
    """The profit distribution with its mean, break-even, and for each ``(level, var,
    cvar)`` the VaR (profit = -var) and CVaR (profit = -cvar) marks; the tail beyond the
    first level's VaR is shaded."""
    fig, ax = _figure(*CAMPAIGN_FIGSIZE)
    share = hist.counts / max(1, hist.counts.sum() + hist.below + hist.above)
    ax.stairs(share, hist.edges, fill=True, color=_LIGHT)
    if risk:  # the bins wholly in the tail beyond the first level's VaR
        tail = int(np.searchsorted(hist.edges, -risk[0][1], side="right")) - 1
        if tail > 0:
            ax.stairs(share[:tail], hist.edges[: tail + 1], fill=True, color=_ORANGE)
    ax.axvline(0.0, color=_GREY, linewidth=0.8)
    ax.axvline(mean, color=_BLUE, linewidth=1.6, label=f"mean {mean:,.0f}")
    for i, (level, var, cvar) in enumerate(risk):
        pct = f"{level * 100:g}"
        style = _LINES[i % len(_LINES)]
        ax.axvline(-var, color=_RED, linestyle=style, linewidth=1.4, label=f"VaR{pct}: {var:,.0f}")
        ax.axvline(
            -cvar, color="#5b1a16", linestyle=style, linewidth=1.4, label=f"CVaR{pct}: {cvar:,.0f}"
        )
    ax.xaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    ax.set_xlabel(f"profit per campaign ({currency}); marks at profit = -VaR, -CVaR")
    ax.set_ylabel("share of paths")
    outside = hist.below + hist.above
    note = f" ({outside:,} paths off the scale)" if outside else ""
    ax.set_title(f"profit distribution{note}", fontsize=10, loc="left")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    return _png(fig)


def fan_chart(
    labels: Sequence[str],
    quantiles: Sequence[float],
    values: np.ndarray,
    mean: np.ndarray,
    currency: str,
) -> bytes:
    """Cumulative net sales from the start (0) to the end of each session: bands between the
    outer and inner pairs of ``quantiles`` (rows of ``values``, sessions in columns), the
    median, and the mean."""
    fig, ax = _figure(*CAMPAIGN_FIGSIZE)
    values = np.hstack([np.zeros((values.shape[0], 1)), values])
    mean = np.concatenate([[0.0], mean])
    labels = ["start", *labels]
    x = np.arange(values.shape[1])
    k = len(quantiles)
    for i, alpha in zip(range(k // 2), (0.25, 0.45, 0.65), strict=False):
        lo, hi = values[i], values[k - 1 - i]
        band = f"p{quantiles[i] * 100:g}-p{quantiles[k - 1 - i] * 100:g}"
        ax.fill_between(x, lo, hi, color=_BLUE, alpha=alpha, linewidth=0, label=band)
    if k % 2:
        ax.plot(x, values[k // 2], color=_BLUE, linewidth=1.8, label="median")
    ax.plot(x, mean, color=_ORANGE, linestyle="--", linewidth=1.4, label="mean")
    ax.yaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    step = max(1, math.ceil(len(labels) / 12))
    ax.set_xticks(x[::step], [labels[j] for j in range(0, len(labels), step)], fontsize=7)
    if len(labels) > 4:
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
    else:  # the last label ends at its tick, inside the figure, however long it is
        ax.get_xticklabels()[-1].set_horizontalalignment("right")
    ax.set_xlim(-0.15, len(labels) - 0.85)
    ax.set_ylabel(f"cumulative net sales ({currency})")
    ax.set_title("cumulative net sales over the sessions", fontsize=10, loc="left")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return _png(fig)


def comparison_chart(
    names: Sequence[str], stats: np.ndarray, currency: str, metric: str = "profit"
) -> bytes:
    """One row per campaign, in the order given (best first): the p5-p95 range as a line,
    p25-p75 as a box, the median as a tick and the mean as a dot. ``stats``: [campaigns, 6]
    columns p5, p25, p50, p75, p95, mean."""
    n = len(names)
    longest = max((len(f"{n}. {x}") for x in names), default=4)
    left = min(3.2, 0.25 + 0.062 * longest)
    fig, ax = _figure(5.0 + left, 1.4 + 0.24 * n, margins=(left, 0.25, 0.95, 0.35))
    y = np.arange(n)[::-1]
    ax.hlines(y, stats[:, 0], stats[:, 4], color=_GREY, linewidth=1.0, label="p5-p95")
    ax.barh(
        y,
        stats[:, 3] - stats[:, 1],
        left=stats[:, 1],
        height=0.55,
        color=_LIGHT,
        edgecolor=_BLUE,
        linewidth=0.6,
        label="p25-p75",
    )
    ax.vlines(stats[:, 2], y - 0.27, y + 0.27, color=_BLUE, linewidth=1.6, label="median")
    ax.plot(stats[:, 5], y, "o", color=_ORANGE, markersize=4, label="mean")
    ax.axvline(0.0, color=_GREY, linewidth=0.8)
    ax.set_yticks(y, [f"{i + 1}. {name}" for i, name in enumerate(names)], fontsize=8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.xaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    ax.set_xlabel(f"{metric} per campaign ({currency})")
    ax.set_title(f"{metric} distribution by campaign, ranked", fontsize=10, loc="left")
    fig.legend(fontsize=8, frameon=False, loc="lower center", ncols=4)
    return _png(fig)


def risk_return_chart(
    names: Sequence[str],
    mean_profit: np.ndarray,
    cvar: np.ndarray,
    level: float,
    currency: str,
) -> bytes:
    """Mean profit against CVaR at ``level`` (the tail loss; right is riskier), one point per
    campaign (``names`` best first), labelled with rank and name up to `NAMED_POINTS`
    campaigns, with the rank alone up to `NUMBERED_POINTS`, unlabelled beyond."""
    fig, ax = _figure(6.4, 4.0, margins=(0.85, 0.3, 0.6, 0.35))
    ax.scatter(cvar, mean_profit, s=22, color=_BLUE, alpha=0.8, edgecolor="white", linewidth=0.5)
    if len(names) <= NUMBERED_POINTS:
        lo, hi = float(np.min(cvar)), float(np.max(cvar))
        middle = (lo + hi) / 2.0
        for i, name in enumerate(names):
            # labels point inwards: a point in the right half is labelled on its left, so no
            # label runs past the right edge of the figure
            right_half = hi > lo and cvar[i] > middle
            ax.annotate(
                f"{i + 1}. {name}" if len(names) <= NAMED_POINTS else str(i + 1),
                (cvar[i], mean_profit[i]),
                fontsize=7,
                xytext=(-4 if right_half else 4, 3 if i % 2 else -9),
                textcoords="offset points",
                ha="right" if right_half else "left",
            )
    ax.axhline(0.0, color=_GREY, linewidth=0.8)
    ax.axvline(0.0, color=_GREY, linewidth=0.8)
    ax.xaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    ax.yaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    pct = f"{level * 100:g}"
    ax.set_xlabel(
        f"CVaR{pct} of profit ({currency}; expected loss in the worst {100 - level * 100:g} %)"
    )
    ax.set_ylabel(f"mean profit ({currency})")
    ax.set_title("risk and return by campaign (upper left is better)", fontsize=10, loc="left")
    return _png(fig)


#: Quantiles drawn in the fan chart of cumulative net sales (those of the summaries).
FAN_QUANTILES = QUANTILES


@dataclass
class CampaignPlot:
    """What the report draws of one campaign, kept after its path table is dropped."""

    name: str
    method: str
    elapsed_s: float
    session_labels: list[str]
    fan: np.ndarray  # [len(FAN_QUANTILES), sessions], cumulative net sales
    fan_mean: np.ndarray  # [sessions]
    hist: Histogram  # of profit
    profit: dict[str, float]  # the summary row of profit


def pareto_front(mean_profit: np.ndarray, cvar: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both axes (higher mean profit and lower
    CVaR), in order of CVaR."""
    order = np.lexsort((-mean_profit, cvar))  # by CVaR, then the higher mean first
    front: list[int] = []
    best = -np.inf
    for i in order:
        if mean_profit[i] > best:
            front.append(int(i))
            best = float(mean_profit[i])
    return np.array(front, dtype=np.int64)


def frontier_chart(
    mean_profit: np.ndarray,
    cvar: np.ndarray,
    paths: np.ndarray,
    marks: Sequence[tuple[int, str]],
    currency: str = "CNY",
) -> bytes:
    """Mean profit against CVaR95 of every evaluated candidate (darker: more paths), the
    efficient frontier drawn through the points no other beats on both, and ``marks``:
    (index, label) of the best plan and the runner-up."""
    fig, ax = _figure(7.2, 4.4, margins=(0.9, 0.3, 0.65, 0.35))
    shade = np.log2(np.maximum(paths, 1) / max(1, int(paths.min())))
    ax.scatter(
        cvar,
        mean_profit,
        s=14,
        c=shade,
        cmap="Blues",
        vmin=-1.5,
        vmax=max(1.0, float(shade.max())),
        alpha=0.85,
        edgecolor="none",
        label="candidates (darker: more paths)",
    )
    front = pareto_front(mean_profit, cvar)
    ax.plot(
        cvar[front],
        mean_profit[front],
        color=_ORANGE,
        linewidth=1.4,
        marker="o",
        markersize=3,
        label="frontier: no candidate has more mean profit for less CVaR",
    )
    for k, (i, label) in enumerate(marks):  # the best on top, the runner-up a ring under it
        ax.scatter(
            [cvar[i]],
            [mean_profit[i]],
            s=160 if k == 0 else 110,
            marker="*" if k == 0 else "o",
            facecolor=_RED if k == 0 else "none",
            edgecolor=_RED if k == 0 else _GREY,
            linewidth=1.5,
            zorder=6 if k == 0 else 5,
            label=label,
        )
    ax.axhline(0.0, color=_GREY, linewidth=0.8)
    ax.xaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    ax.yaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    ax.set_xlabel(f"CVaR95 of profit ({currency}; expected loss in the worst 5 %)")
    ax.set_ylabel(f"mean profit ({currency})")
    ax.set_title(
        f"{len(cvar):,} candidates on the search paths (upper left is better)",
        fontsize=10,
        loc="left",
    )
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return _png(fig)


def two_distributions(
    first: np.ndarray, second: np.ndarray, labels: tuple[str, str], currency: str = "CNY"
) -> bytes:
    """The profit distributions of two plans on the same paths, overlaid, with their means."""
    fig, ax = _figure(7.2, 3.6, margins=(0.9, 0.3, 0.65, 0.35))
    both = np.concatenate([first, second])
    means = [float(first.mean()), float(second.mean())]
    lo, hi = np.quantile(both, [0.005, 0.99])  # a long upper tail would squash the body
    lo, hi = min(float(lo), 0.0, *means), max(float(hi), *means)
    edges = np.linspace(lo, hi, 81)
    off = int(((both < lo) | (both > hi)).sum())
    for k, (values, color, label) in enumerate(
        ((first, _LIGHT, labels[0]), (second, _ORANGE, labels[1]))
    ):
        share = np.histogram(values, bins=edges)[0] / max(1, values.size)
        if k == 0:
            ax.stairs(share, edges, fill=True, color=color, label=label)
        else:
            ax.stairs(share, edges, color=color, linewidth=1.5, label=label)
        ax.axvline(means[k], color=_BLUE if k == 0 else _ORANGE, linestyle="--", linewidth=1.2)
    ax.axvline(0.0, color=_GREY, linewidth=0.8)
    ax.xaxis.set_major_formatter(_money(currency))  # type: ignore[arg-type]
    ax.set_xlabel(f"profit per campaign ({currency}); dashed: means")
    ax.set_ylabel("share of paths")
    note = f" ({off:,} path values off the scale)" if off else ""
    ax.set_title(
        f"profit on the confirmation stream: best plan and runner-up{note}", fontsize=9, loc="left"
    )
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    return _png(fig)


def tornado_chart(
    inputs: Sequence[str],
    at_low: np.ndarray,
    at_high: np.ndarray,
    base: float,
    output: str,
    ranges: Sequence[str],
    money: bool = True,
) -> bytes:
    """One bar per input (largest swing on top): the output with the input at its low (the
    bar's end in grey) and at its high (blue), the others at base; ``ranges`` label the
    inputs' low .. high; ``money``: the axis in CNY (else plain numbers)."""
    k = len(inputs)
    fig, ax = _figure(7.2, 0.9 + 0.34 * k, margins=(2.6, 0.3, 0.55, 0.35))
    order = np.argsort(-np.abs(at_high - at_low), kind="stable")[::-1]
    y = np.arange(k)
    for pos, i in zip(y, order, strict=True):
        for value, color in ((at_low[i], "#a5a5a5"), (at_high[i], _BLUE)):
            ax.barh(pos, value - base, left=base, height=0.6, color=color, alpha=0.9)
    ax.axvline(base, color=_GREY, linewidth=1.0)
    ax.set_yticks(y, [f"{inputs[i]}  ({ranges[i]})" for i in order], fontsize=7)
    if money:
        ax.xaxis.set_major_formatter(_money(""))  # type: ignore[arg-type]
    ax.set_xlabel(f"{output} (grey: input at its low, blue: at its high; line: all at base)")
    ax.set_title(f"tornado: {output}", fontsize=10, loc="left")
    ax.grid(False, axis="y")
    return _png(fig)


def index_bars(
    inputs: Sequence[str],
    first: np.ndarray,
    first_err: np.ndarray,
    total: np.ndarray,
    total_err: np.ndarray,
    output: str,
    labels: tuple[str, str] = ("S1 (first order)", "ST (total)"),
) -> bytes:
    """Two bars per input (largest second value on top) with their interval half-widths:
    Sobol S1 and ST, or Morris mu* and sigma (``labels``)."""
    k = len(inputs)
    fig, ax = _figure(7.2, 0.9 + 0.38 * k, margins=(2.2, 0.3, 0.55, 0.35))
    order = np.argsort(total, kind="stable")
    y = np.arange(k)
    h = 0.38
    ax.barh(
        y + h / 2,
        first[order],
        height=h,
        xerr=first_err[order],
        color=_LIGHT,
        error_kw={"elinewidth": 0.8, "capsize": 2},
        label=labels[0],
    )
    ax.barh(
        y - h / 2,
        total[order],
        height=h,
        xerr=total_err[order],
        color=_BLUE,
        error_kw={"elinewidth": 0.8, "capsize": 2},
        label=labels[1],
    )
    ax.set_yticks(y, [inputs[i] for i in order], fontsize=7)
    ax.axvline(0.0, color=_GREY, linewidth=0.8)
    ax.set_title(
        f"{labels[0].split()[0]} and {labels[1].split()[0]}: {output}", fontsize=10, loc="left"
    )
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.grid(False, axis="y")
    return _png(fig)
