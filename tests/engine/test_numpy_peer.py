"""The plain-NumPy peer of the benchmarks (bench/numpy_peer.py) simulates the per-viewer
kernel's distribution, so the race between them is fair.

Two checks, each outcome by a Welch z-test of means (|z| < 4.5, false failure 6.8e-6 each)
and, for counts, a two-sample KS test (false failure 1e-5 each):

* small strategies where carried state acts (trust, saturation, vouchers): every outcome of
  every session, 8,000 peer paths against 20,000 kernel paths;
* the race itself, ``mega_only`` (3.6 M viewers a path): per path, the ratios that the
  traffic multiplier does not blur (arrivals per unit of traffic, exposures per arrival,
  orders per exposure, ...), so 60 paths a side resolve them to a fraction of a percent,
  and the traffic multiplier's own law by KS.

About 190 comparisons: a correct peer fails with probability < 2e-3 for a fresh seed; the
seeds are fixed, so the outcome is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import forecast as fc
from bench.numpy_peer import simulate
from forecast import examples
from forecast.engine.compile import compile_strategy
from kernels import layout as L
from kernels.viewer import run_paths
from tests.conftest import group_buying, micro_then_mega
from tests.stats import Z, ks_bound, ks_two_sample, z_two_sample

COUNTED = ("views", "exposures", "penalized", "saturated", "orders", "units")


def _kernel(c: Any, paths: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.zeros((paths, c.n_sessions, L.N_COUNTS), dtype=np.int64)
    money = np.zeros((paths, c.n_sessions, L.N_MONEY))
    run_paths(c, seed, 0, counts, money)
    return counts, money


def _outcomes(counts: np.ndarray, money: np.ndarray) -> dict[str, np.ndarray]:
    out = {name: counts[:, :, j].astype(float) for j, name in enumerate(L.COUNT_NAMES)}
    out.update({name: money[:, :, j] for j, name in enumerate(L.MONEY_NAMES)})
    return out


def _agree(a: np.ndarray, b: np.ndarray, what: str, ks: bool) -> None:
    if a.std() == 0 and b.std() == 0:
        assert a[0] == b[0], what
        return
    z = z_two_sample(a, b)
    assert abs(z) < Z, f"{what}: peer {a.mean():.6g} kernel {b.mean():.6g} (z = {z:.1f})"
    if ks:
        d = ks_two_sample(a, b)
        assert d < ks_bound(a.size, b.size), f"{what}: KS distance {d:.4f}"


def strong_trust() -> fc.Strategy:
    """`micro_then_mega` with a trust penalty of 0.9, so an error in it shows."""
    return micro_then_mega(trust_penalty=0.9)


@pytest.mark.slow
@pytest.mark.parametrize("build", [strong_trust, group_buying])
def test_peer_matches_kernel_with_carried_state(build: Callable[[], fc.Strategy]) -> None:
    # the peer does not draw the time layer (its own tests: tests/engine/test_time_layer.py)
    c = compile_strategy(build().with_market(drift=0.0, market_factor=0.0))
    peer = _outcomes(*simulate(c, 8_000, seed=31))
    kern = _outcomes(*_kernel(c, 20_000, seed=32))
    for name in peer:
        for s in range(c.n_sessions):
            _agree(peer[name][:, s], kern[name][:, s], f"{name} session {s}", name in COUNTED)
    # the carried-state effects are exercised
    assert peer["saturated"].sum() > 100 and peer["penalized"][:, -1].sum() > 100


@pytest.mark.slow
def test_peer_matches_kernel_on_the_raced_mega_session() -> None:
    c = compile_strategy(fc.load(examples.path("mega_only")))
    runs = {"peer": simulate(c, 60, seed=33), "kernel": _kernel(c, 60, seed=34)}
    ratios: dict[str, dict[str, np.ndarray]] = {}
    for who, (counts, money) in runs.items():
        o = {k: v[:, 0] for k, v in _outcomes(counts, money).items()}
        ratios[who] = {
            "views per unit of traffic": o["views"] / o["traffic"],
            "exposures per view": o["exposures"] / o["views"],
            "orders per exposure": o["orders"] / o["exposures"],
            "units per order": o["units"] / o["orders"],
            "returned orders per order": o["returned_orders"] / o["orders"],
            "net units per unit": 1 - o["returned_units"] / o["units"],
            "gmv per unit": o["gmv"] / o["units"],
            "likes per watch hour": o["likes"] / o["watch_hours"],
            "gifts per watch hour": o["gifts"] / o["watch_hours"],
            "gift value per gift": o["gift_value"] / o["gifts"],
            "log traffic": np.log(o["traffic"]),
        }
    assert runs["peer"][0][:, 0, L.ORDERS].min() > 0  # the ratios are well defined
    for name, a in ratios["peer"].items():
        _agree(a, ratios["kernel"][name], name, ks=name == "log traffic")
