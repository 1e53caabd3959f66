"""Influencers fitted to past sessions, as stored in a calibration file.

`forecast.analysis.calibrate` fits hosts and writes ``calibration.parquet``: its table holds
the posterior draws, its key-value metadata (JSON under the key ``forecast``) the fitted
`Influencer` of every host and of a new host of every tier. This module reads the latter, so
a strategy file can name a fitted host without the model depending on the fit::

    [[influencers]]
    name = "li"
    calibration = "fit/calibration.parquet"   # relative to the strategy file
    host = "Li Jiaqi"                         # or: tier = "mid", for a new host of that tier
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

from forecast.model.entities import Influencer
from forecast.model.enums import Channel, Tier

#: The key of a forecast file's JSON metadata (shared with `forecast.results.io`).
METADATA_KEY = b"forecast"
#: ``kind`` of a calibration file's metadata.
CALIBRATION_KIND = "calibration"


def influencer_fields(inf: Influencer) -> dict[str, Any]:
    """``inf`` as plain JSON values (enums by value); `Influencer(**fields)` rebuilds it."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Influencer):
        value = getattr(inf, f.name)
        if isinstance(value, (Tier, Channel)):
            value = value.value
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        out[f.name] = value
    return out


def read_calibration_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata of the calibration file at ``path``; a missing file, a file that is not
    Parquet or not a calibration is one ValueError naming the path."""
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"calibration file {str(p)!r} does not exist")
    try:
        raw = (pq.read_schema(p).metadata or {}).get(METADATA_KEY)
    except Exception as err:  # pyarrow raises its own error types for a non-Parquet file
        raise ValueError(f"calibration file {str(p)!r} is not a Parquet file ({err})") from None
    meta: dict[str, Any] = json.loads(raw) if raw else {}
    if meta.get("kind") != CALIBRATION_KIND:
        raise ValueError(
            f"calibration file {str(p)!r} is not a calibration (write one with "
            "forecast calibrate SESSIONS --out DIR)"
        )
    return meta


def fitted_influencer(
    meta: dict[str, Any],
    *,
    host: str | None = None,
    tier: Tier | str | None = None,
    name: str | None = None,
    source: str = "calibration",
    **overrides: Any,
) -> Influencer:
    """The fitted influencer ``host`` of a calibration's metadata, or (``host`` None) a new
    host of ``tier`` drawn from the tier's fitted population; named ``name`` (default: the
    host, or the tier), fields overridden by keyword. An unknown host is a KeyError naming
    the known ones."""
    if host is not None:
        hosts: dict[str, Any] = meta["influencers"]
        if host not in hosts:
            known = ", ".join(sorted(hosts)) or "none"
            raise KeyError(f"{source}: host {host!r} is not in the calibration; known: {known}")
        fields = dict(hosts[host])
    else:
        if tier is None:
            raise ValueError(f"{source}: name a host, or a tier for a new host of that tier")
        t = Tier.parse(tier, source)
        tiers: dict[str, Any] = meta["new"]
        if t.value not in tiers:
            raise ValueError(
                f"{source}: tier = {t.value!r} is not allowed; the calibration has hosts of "
                f"{', '.join(sorted(tiers))} only"
            )
        fields = dict(tiers[t.value])
    fields["name"] = name or (host if host is not None else fields["name"])
    unknown = set(overrides) - set(fields)
    if unknown:
        bad = sorted(unknown)[0]
        raise ValueError(f"{source}: {bad} is not an influencer field")
    fields.update(overrides)
    return Influencer(**fields)


__all__ = [
    "CALIBRATION_KIND",
    "METADATA_KEY",
    "fitted_influencer",
    "influencer_fields",
    "read_calibration_metadata",
]
