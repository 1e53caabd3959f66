"""Checks that turn bad input into one clear ValueError naming the field, the value and what
is allowed. Used by the model's constructors; nothing reaches a kernel without passing here."""

from __future__ import annotations

import math
from typing import Any


def fail(owner: str, field: str, value: Any, allowed: str) -> ValueError:
    """The one error format: ``<owner>: <field> = <value> is not allowed; <allowed>``."""
    return ValueError(f"{owner}: {field} = {value!r} is not allowed; {allowed}")


def number(owner: str, field: str, value: Any) -> float:
    """A real, finite number (bools and strings are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(owner, field, value, "must be a number")
    x = float(value)
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
    if allow_inf and isinstance(value, int | float) and value == math.inf:
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


def positive(owner: str, field: str, value: Any, *, allow_inf: bool = False) -> float:
    """A finite number > 0."""
    return in_range(owner, field, value, 0.0, math.inf, lo_open=True, allow_inf=allow_inf)


def non_negative(owner: str, field: str, value: Any) -> float:
    """A finite number >= 0."""
    return in_range(owner, field, value, 0.0, math.inf)


def probability(owner: str, field: str, value: Any) -> float:
    """A probability in [0, 1]."""
    return in_range(owner, field, value, 0.0, 1.0)


def integer(owner: str, field: str, value: Any, lo: int, hi: int | None = None) -> int:
    """An int in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise fail(owner, field, value, "must be a whole number")
    if value < lo or (hi is not None and value > hi):
        bound = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise fail(owner, field, value, f"must be a whole number {bound}")
    return int(value)


def text(owner: str, field: str, value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise fail(owner, field, value, "must be a non-empty string")
    return value
