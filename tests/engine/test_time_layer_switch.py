"""The time layer switches off bit for bit: with ``market.drift = 0``, ``market.market_factor
= 0`` and the presets of edition 2026-11, every bundled example gives the path and session
tables it gave before the time layer, on both kernels (digests recorded at commit 0e423bb by
`tests.engine.test_spread._digest` over the same runs: seed 11, 500 cohort paths or 6
per-viewer paths; compared over the columns the tables had then)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

import forecast as fc
from forecast import examples
from forecast.model.strategy_file import strategy_from_dict
from tests.engine.test_spread import _digest

GOLDEN = json.loads((Path(__file__).parent / "golden_before_time.json").read_text())


def as_before(name: str, *, switches: bool = True) -> fc.Strategy:
    """Bundled example ``name`` with edition 2026-11 presets (and the time layer's market
    switches at zero when ``switches``)."""
    path = examples.path(name)
    data: dict[str, Any] = tomllib.loads(path.read_text())
    for table in data.get("influencers", []):
        table["edition"] = "2026-11"
    if switches:
        data.setdefault("market", {}).update(drift=0.0, market_factor=0.0)
    data.setdefault("name", path.stem)
    return strategy_from_dict(data, str(path), path.parent)


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_time_layer_off_is_the_model_before_it_bit_for_bit(case: str) -> None:
    name, method = case.split("/")
    want = GOLDEN[case]
    got = fc.run(as_before(name), paths=want["paths"], seed=11, method=method)
    assert _digest(got.paths.select(want["paths_columns"])) == want["paths_table"]
    assert _digest(got.sessions.select(want["sessions_columns"])) == want["sessions_table"]


@pytest.mark.parametrize("name", ["mega_then_micro", "amateur_swarm"])
def test_edition_2026_11_alone_has_no_time_layer(name: str) -> None:
    """The old edition's tier defaults carry no drift and no market loading, so the switches
    are not needed to get the old bits."""
    want = GOLDEN[f"{name}/cohort"]
    got = fc.run(as_before(name, switches=False), paths=want["paths"], seed=11, method="cohort")
    assert _digest(got.paths.select(want["paths_columns"])) == want["paths_table"]


def test_default_edition_moves_the_results() -> None:
    """And the default (2026-12) does not give the old bits: the switch test is not vacuous."""
    want = GOLDEN["mega_only/cohort"]
    got = fc.run(fc.load(examples.path("mega_only")), paths=want["paths"], seed=11)
    assert _digest(got.paths.select(want["paths_columns"])) != want["paths_table"]
