"""Past sessions: reading and checking a user's export (one row per livestream session).

Columns (`COLUMNS`); names are matched without regard to case or surrounding spaces:

==============  ========  ================================================================
column          needed    meaning
==============  ========  ================================================================
influencer      yes       host name (text)
tier            yes       mega, mid, micro or amateur (one tier per host)
start           no        date or date-time the session started (orders the sessions)
hours           yes       duration, hours, in [1/60, 48] (at least a minute)
views           yes       views (arrivals), >= 0
products        no        products presented in the stream, whole number in [1, 10000]
units           no        units sold of all products, >= 0, at most 10 a view
gmv             no        gross merchandise value paid, CNY, >= 0
likes           no        likes, >= 0
avg_stay_s      no        average stay of a viewer, seconds, in (0, 86400], at most the session
==============  ========  ================================================================

An empty cell is a missing value (so is NaN in a numeric column of a DataFrame or Parquet
file; the text ``nan`` in a CSV is an error). Any other column is reported once
(`History.notes`) and ignored. Every bad value is an error naming the row (1-based, data
rows; a CSV file's line is row + 1), the column and the value; nothing is fitted from a
table with one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from forecast.model import validation as v
from forecast.model.enums import Tier

#: (name, required, kind, lo, hi, lo_open): the columns of a past-sessions table.
COLUMNS: tuple[tuple[str, bool, str, float, float, bool], ...] = (
    ("influencer", True, "text", 0, 0, False),
    ("tier", True, "tier", 0, 0, False),
    ("start", False, "time", 0, 0, False),
    ("hours", True, "number", 1.0 / 60.0, 48.0, False),  # at least a minute
    ("views", True, "number", 0.0, 1e13, False),
    ("products", False, "whole", 1.0, 10_000.0, False),
    ("units", False, "number", 0.0, 1e13, False),
    ("gmv", False, "number", 0.0, 1e16, False),
    ("likes", False, "number", 0.0, 1e15, False),
    ("avg_stay_s", False, "number", 0.0, 86_400.0, True),
)
NAMES = tuple(c[0] for c in COLUMNS)
NUMERIC = tuple(c[0] for c in COLUMNS if c[2] in ("number", "whole"))
TIERS = tuple(t.value for t in Tier)
#: Most rows read (far beyond any host's history).
MAX_ROWS = 1_000_000
#: Most units sold a view: a stream's buyers are among its viewers, and each buys a few
#: units at most. Real top hosts sell 0.02 a view (p95 0.08); the model's own predictive puts
#: a few sessions of a wide tier above 1 (a viewer buying two), never near 10, so more than
#: 10 is a unit mistake (1e12 units of 10 views once gave a conversion of 9e10).
MAX_UNITS_PER_VIEW = 10.0
#: Date and date-time formats tried for ``start``, in order.
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)


class HistoryError(ValueError):
    """A past-sessions table that cannot be fitted; the message names row, column and value."""


@dataclass(frozen=True)
class History:
    """A checked table of past sessions (columns `NAMES`, numbers as Float64, ``start`` as
    Datetime, sorted by host and start), with what was noticed while reading it."""

    frame: pl.DataFrame
    notes: tuple[str, ...] = field(default=())
    source: str = "sessions"

    @property
    def digest(self) -> str:
        """SHA-256 of the checked table (its CSV text): the fit's data identity."""
        return hashlib.sha256(self.frame.write_csv().encode()).hexdigest()

    @property
    def hosts(self) -> dict[str, str]:
        """Host name -> tier, in order of first appearance."""
        rows = self.frame.select("influencer", "tier").unique(maintain_order=True)
        return dict(rows.iter_rows())


def _read(source: Any) -> tuple[pl.DataFrame, str, int]:
    """The raw table of ``source`` (all cells as text for a CSV), its name, and the line
    offset of row 1 (a CSV's header is line 1)."""
    if isinstance(source, pl.DataFrame):
        return source, "sessions", 0
    if not isinstance(source, (str, Path)):
        raise HistoryError(
            f"sessions = {v.echo(source)} is not allowed; a CSV or Parquet file or a polars "
            "DataFrame"
        )
    p = Path(source)
    if p.is_dir():
        raise HistoryError(f"sessions file {str(p)!r} is a directory, not a file")
    if not p.exists():
        raise FileNotFoundError(f"sessions file {str(p)!r} does not exist")
    with p.open("rb") as fh:
        head = fh.read(4)
    try:
        if head == b"PAR1":
            return pl.read_parquet(p), str(p), 0
        text = p.read_bytes()
        if b"\0" in text[:65536]:
            raise HistoryError(f"{p}: not a table (a binary file that is not Parquet)")
        frame = pl.read_csv(text, infer_schema=False, n_rows=MAX_ROWS + 1)
    except HistoryError:
        raise
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise HistoryError(
            f"{p}: not a table that can be read as CSV or Parquet ({first})"
        ) from None
    return frame, str(p), 1


def _plain(value: Any) -> Any:
    """A cell as plain Python (a list cell is a Series in polars), for one-line messages."""
    return value.to_list() if isinstance(value, pl.Series) else value


def _cross_checks(columns: dict[str, pl.Series], name: str, offset: int) -> tuple[list[str], int]:
    """Values that are each allowed but impossible together: more than `MAX_UNITS_PER_VIEW`
    units sold a view, an average stay longer than the session. The first three of each are
    spelled out, the rest counted (the second item)."""
    out: list[str] = []
    counted = 0
    hours, views = columns["hours"], columns["views"]
    units, stay = columns["units"], columns["avg_stay_s"]
    checks: tuple[tuple[pl.Series, str, pl.Series, Callable[[int], str]], ...] = (
        (
            units > MAX_UNITS_PER_VIEW * views,
            "units",
            units,
            lambda i: f"more than {MAX_UNITS_PER_VIEW:g} a view of the row's {views[i]:,.0f} views",
        ),
        (
            stay > hours * 3600.0,
            "avg_stay_s",
            stay,
            lambda i: f"longer than the session ({hours[i]:g} h = {hours[i] * 3600:,.0f} s)",
        ),
    )
    for mask, col, series, why in checks:
        bad = mask.fill_null(False).arg_true()
        for i in bad.head(3).to_list():
            out.append(
                f"{_where(name, i + 1, offset)}, column {col}: {series[i]:g} is not allowed; "
                f"{why(i)}"
            )
        counted += max(0, bad.len() - 3)
    return out, counted


def _where(source: str, row: int, offset: int) -> str:
    line = f" (line {row + offset})" if offset else ""
    return f"{source}: row {row}{line}"


def read_history(source: Any, *, outcomes_required: bool = True) -> History:
    """Read and check past sessions from a CSV or Parquet file or a polars DataFrame (format:
    this module's docstring). Raises `HistoryError` (a ValueError) on the first bad value,
    naming row, column and value and how many more bad values there are.
    ``outcomes_required=False`` reads sessions to forecast: views may then be missing."""
    raw, name, offset = _read(source)
    if raw.height > MAX_ROWS:
        raise HistoryError(f"{name}: more than {MAX_ROWS:,} rows; split the history")
    rename: dict[str, str] = {}
    notes: list[str] = []
    for col in raw.columns:
        key = str(col).replace("\ufeff", "").strip().lower()  # a byte-order mark is no name
        if key in NAMES and key not in rename.values():
            rename[col] = key
        else:
            notes.append(f"{name}: column {str(col)!r} is not one of {', '.join(NAMES)}; ignored")
    frame = raw.select(list(rename)).rename(rename)
    required = {c[0] for c in COLUMNS if c[1]} - (set() if outcomes_required else {"views"})
    missing = [c[0] for c in COLUMNS if c[0] in required and c[0] not in frame.columns]
    if missing and len(raw.columns) == 1:
        sep = next((c for c in (";", "\t", "|") if c in str(raw.columns[0])), None)
        if sep is not None:
            raise HistoryError(
                f"{name}: one column {v.echo(raw.columns[0])}: the file seems to separate its "
                f"columns with {sep!r}; write it with commas (a CSV), or as Parquet"
            )
    if missing:
        raise HistoryError(
            f"{name}: missing required column(s) {', '.join(missing)}; the columns are "
            f"{', '.join(NAMES)} (influencer, tier, hours and views required)"
        )
    if frame.height == 0:
        raise HistoryError(f"{name}: no rows; at least one past session is needed")
    problems: list[str] = []  # the first few of each kind, spelled out
    unspelled = [0]  # the rest, counted
    columns: dict[str, pl.Series] = {}

    def report(mask: pl.Series, series: pl.Series, col: str, why: str, verb: str = "") -> None:
        """One problem for each of the first rows where ``mask`` holds (the count kept)."""
        bad = mask.fill_null(False).arg_true()
        for i in bad.head(3).to_list():
            problems.append(
                f"{_where(name, i + 1, offset)}, column {col}: {v.echo(_plain(series[i]))} "
                f"{verb or 'is not allowed;'} {why}"
            )
        unspelled[0] += max(0, bad.len() - 3)

    for col, _, kind, lo, hi, lo_open in COLUMNS:
        if col not in frame.columns:
            dtype = pl.Datetime("us") if kind == "time" else pl.Float64
            columns[col] = pl.Series(col, [None] * frame.height, dtype=dtype)
            continue
        series = frame.get_column(col)
        if series.dtype.is_nested() or series.dtype == pl.Object or series.dtype == pl.Binary:
            raise HistoryError(
                f"{name}: column {col} holds {series.dtype} values; one "
                f"{'text' if kind in ('text', 'tier') else 'value'} a cell is needed "
                f"(row 1: {v.echo(_plain(series[0]))})"
            )
        text = series.cast(pl.String, strict=False).str.strip_chars()
        empty = text.is_null() | (text == "")
        if kind in ("text", "tier"):
            parsed = text.set(empty, None)
            if kind == "tier":
                parsed = parsed.str.to_lowercase()
            for i in empty.arg_true().head(3).to_list():
                problems.append(f"{_where(name, i + 1, offset)}, column {col}: empty; required")
            unspelled[0] += max(0, int(empty.sum()) - 3)
            if kind == "tier":
                report(
                    ~empty & ~parsed.is_in(list(TIERS)),
                    series,
                    "tier",
                    f"one of {', '.join(TIERS)}",
                )
            columns[col] = parsed
            continue
        if kind == "time":
            if series.dtype.is_temporal():
                parsed = series.cast(pl.Datetime("us"))
            else:
                parsed = pl.Series(col, [None] * frame.height, dtype=pl.Datetime("us"))
                for fmt in TIME_FORMATS:
                    got = text.str.to_datetime(fmt, strict=False, time_unit="us")
                    parsed = parsed.fill_null(got)
            report(
                ~empty & parsed.is_null(),
                series,
                "start",
                "a date or date-time (YYYY-MM-DD[ HH:MM[:SS]])",
                verb="is not",
            )
            columns[col] = parsed
            continue
        if series.dtype.is_numeric():
            parsed = series.cast(pl.Float64)
            empty = empty | parsed.is_nan().fill_null(False)  # NaN: a missing value
        else:
            parsed = text.cast(pl.Float64, strict=False)
        if col in required:
            for i in empty.arg_true().head(3).to_list():
                problems.append(f"{_where(name, i + 1, offset)}, column {col}: empty; required")
            unspelled[0] += max(0, int(empty.sum()) - 3)
        given = ~empty
        low = "1/60" if col == "hours" else f"{lo:g}"
        allowed = f"in {'(' if lo_open else '['}{low}, {hi:g}]"
        finite = parsed.is_finite().fill_null(False)
        report(given & ~finite, series, col, "must be a finite number")
        below = (parsed <= lo) if lo_open else (parsed < lo)
        out_of_range = given & finite & (below | (parsed > hi))
        unit = " (a session of at least a minute)" if col == "hours" else ""
        report(out_of_range, series, col, f"must be {allowed}{unit}")
        if kind == "whole":
            report(
                given & finite & ~out_of_range & (parsed != parsed.floor()),
                series,
                col,
                "must be a whole number",
            )
        columns[col] = parsed.set(empty, None).fill_nan(None)
    if not problems:
        cross, counted = _cross_checks(columns, name, offset)
        problems += cross
        unspelled[0] += counted
    if problems:
        others = len(problems) - 1 + unspelled[0]
        more = f" (and {v.plural(others, 'more bad value')})" if others else ""
        raise HistoryError(problems[0] + more)
    out = pl.DataFrame([columns[c].alias(c) for c in NAMES])
    tiers = out.group_by("influencer", maintain_order=True).agg(pl.col("tier").unique())
    for host, found in tiers.iter_rows():
        if len(found) > 1:
            rows = out.with_row_index("row", 1).filter(pl.col("influencer") == host)
            first = rows.filter(pl.col("tier") == found[1]).get_column("row")[0]
            raise HistoryError(
                f"{_where(name, int(first), offset)}, column tier: {found[1]!r} is not allowed; "
                f"host {host!r} is {found[0]!r} in an earlier row (one tier per host)"
            )
    if outcomes_required and float(out.get_column("views").fill_null(0).sum()) <= 0.0:
        raise HistoryError(
            f"{name}: column views: every session has 0 views; nothing can be fitted from "
            "sessions no one watched"
        )
    out = (
        out.with_row_index("row", 1)
        .sort("influencer", "start", "row", nulls_last=True, maintain_order=True)
        .drop("row")
    )
    return History(out, tuple(notes), name)


__all__ = ["COLUMNS", "History", "HistoryError", "read_history"]
