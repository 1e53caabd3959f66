"""Bundled strategy files and data. `path(name)` gives the file of an example strategy by name,
`data(name)` a bundled data file (``past_sessions.csv``, made by `make_past_sessions`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

NAMES = (
    "mega_only",
    "micro_only",
    "mega_then_micro",
    "micro_then_mega",
    "mega_deep_discount",
    "amateur_swarm",
    "one_mid_influencer",
)


def path(name: str) -> Path:
    """Path of the bundled example ``name`` (with or without ``.toml``)."""
    stem = name.removesuffix(".toml")
    available = sorted(
        p.name.removesuffix(".toml")
        for p in resources.files(__name__).iterdir()
        if p.name.endswith(".toml")
    )
    if stem not in available:
        raise ValueError(f"example = {name!r} is not bundled; available: {', '.join(available)}")
    return Path(str(resources.files(__name__).joinpath(stem + ".toml")))


def data(name: str) -> Path:
    """Path of the bundled data file ``name`` (e.g. ``past_sessions.csv``)."""
    available = sorted(
        p.name for p in resources.files(__name__).iterdir() if p.name.endswith(".csv")
    )
    if name not in available:
        raise ValueError(f"data = {name!r} is not bundled; available: {', '.join(available)}")
    return Path(str(resources.files(__name__).joinpath(name)))
