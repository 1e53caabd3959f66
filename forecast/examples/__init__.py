"""Bundled strategy files. `path(name)` gives the file of an example by name."""

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
