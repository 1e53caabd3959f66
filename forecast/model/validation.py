"""Checks that turn bad input into one clear ValueError naming the field, the value and what
is allowed. Used by the model's constructors; nothing reaches a kernel without passing here.

Numbers are any real `numbers.Real` (Python's int and float, NumPy's integer and floating
scalars), never a bool or a string; whole numbers are any `numbers.Integral`, or a float
that is whole. A value is echoed in an error at most `MAX_ECHO` characters long.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

#: Longest echo of a value in an error message, characters.
MAX_ECHO = 80


def echo(value: Any) -> str:
    """``repr(value)``, cut to `MAX_ECHO` characters (a 100 kB string is not echoed whole)."""
    try:
        text = repr(value)
    except Exception:  # a repr that fails (or recurses) must not hide the real error
        text = f"<{type(value).__name__}>"
    if len(text) > MAX_ECHO:
        text = text[: MAX_ECHO - 25] + f"... ({len(text):,} characters)"
    return text


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 session``, ``2 sessions``, ``10,000 paths`` (``words``: an irregular plural)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def fail(owner: str, field: str, value: Any, allowed: str) -> ValueError:
    """The one error format: ``<owner>: <field> = <value> is not allowed; <allowed>``."""
    return ValueError(f"{owner}: {field} = {echo(value)} is not allowed; {allowed}")


def is_number(value: Any) -> bool:
    """A real number of Python or NumPy, not a bool."""
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"


def number(owner: str, field: str, value: Any) -> float:
    """A real, finite number (bools, strings and numbers too large for a float are refused)."""
    if not is_number(value):
        raise fail(owner, field, value, "must be a number")
    try:
        x = float(value)
    except (OverflowError, ValueError):
        raise fail(owner, field, value, "must be a finite number") from None
    if not math.isfinite(x):
        raise fail(owner, field, value, "must be a finite number")
    return x


def in_range(
    owner: str,
    field: str,
    value: Any,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A finite number in the interval [lo, hi] (ends opened as asked); ``inf`` if allowed."""
    if allow_inf and is_number(value) and float(value) == math.inf:
        return math.inf
    x = number(owner, field, value)
    below = x <= lo if lo_open else x < lo
    above = x >= hi if hi_open else x > hi
    if below or above:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        hi_txt = "inf" if hi == math.inf else f"{hi:g}"
        raise fail(owner, field, value, f"must be in {left}{lo:g}, {hi_txt}{right}")
    return x


def positive(
    owner: str, field: str, value: Any, hi: float = math.inf, *, allow_inf: bool = False
) -> float:
    """A finite number in (0, hi]."""
    return in_range(owner, field, value, 0.0, hi, lo_open=True, allow_inf=allow_inf)


def non_negative(owner: str, field: str, value: Any, hi: float = math.inf) -> float:
    """A finite number in [0, hi]."""
    return in_range(owner, field, value, 0.0, hi)


def probability(owner: str, field: str, value: Any) -> float:
    """A probability in [0, 1]."""
    return in_range(owner, field, value, 0.0, 1.0)


def integer(owner: str, field: str, value: Any, lo: int, hi: int | None = None) -> int:
    """A whole number in [lo, hi] (a whole float such as ``5.0`` or ``1e6`` is accepted)."""
    bound = f"[{lo:,}, {hi:,}]" if hi is not None else f">= {lo:,}"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise fail(owner, field, value, f"must be a whole number {bound}")
    if not isinstance(value, numbers.Integral):
        try:
            x = float(value)
        except (OverflowError, ValueError):
            raise fail(owner, field, value, f"must be a whole number {bound}") from None
        if not math.isfinite(x) or not x.is_integer():
            raise fail(owner, field, value, f"must be a whole number {bound}")
        value = int(x)
    n = int(value)
    if n < lo or (hi is not None and n > hi):
        raise fail(owner, field, value, f"must be a whole number {bound}")
    return n


def text(owner: str, field: str, value: Any, max_len: int = 200) -> str:
    """A non-empty string of at most ``max_len`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise fail(owner, field, value, "must be a non-empty string")
    if len(value) > max_len:
        raise fail(owner, field, value, f"must be at most {max_len} characters")
    return value


def sequence(owner: str, field: str, value: Any, what: str) -> tuple[Any, ...]:
    """A list or tuple (not a string or a mapping), as a tuple; ``what`` says of what."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise fail(owner, field, value, f"must be a list of {what}")
    return tuple(value)


def choice(owner: str, field: str, value: Any, allowed: Iterable[str]) -> str:
    """One of ``allowed`` names, with a suggestion when it looks like a misspelling."""
    names = list(allowed)
    if isinstance(value, str) and value in names:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, names, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    raise fail(owner, field, value, f"must be one of {', '.join(names)}{hint}")


#: Calendar dates the model accepts: the market factor's grid (`kernels.timeline`) starts on
#: `FIRST_DATE`, a Monday, and spans 8,192 weeks; dates leave room for a 100-year campaign.
FIRST_DATE_ISO = "2000-01-03"
LAST_DATE_ISO = "2056-12-31"


def date(owner: str, field: str, value: Any) -> Any:
    """A calendar date (`datetime.date`, not a datetime, or an ISO ``YYYY-MM-DD`` text) in
    [`FIRST_DATE_ISO`, `LAST_DATE_ISO`], as a `datetime.date`."""
    import datetime as dt

    allowed = f"a date YYYY-MM-DD from {FIRST_DATE_ISO} to {LAST_DATE_ISO}"
    if isinstance(value, str):
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            raise fail(owner, field, value, allowed) from None
    elif isinstance(value, dt.datetime):
        raise fail(owner, field, value, f"{allowed} (a date, not a date and time)")
    elif isinstance(value, dt.date):
        parsed = value
    else:
        raise fail(owner, field, value, allowed)
    if not dt.date.fromisoformat(FIRST_DATE_ISO) <= parsed <= dt.date.fromisoformat(LAST_DATE_ISO):
        raise fail(owner, field, value, allowed)
    return parsed
