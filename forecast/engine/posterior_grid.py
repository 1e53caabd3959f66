"""The compiled loops of the grid posterior (`kernels.posterior_grid`), behind typed calls.

`forecast.analysis.posterior` computes one tier's hierarchy on grids; the three loops that
cost nearly all of a fit of many hosts run here as numba kernels. The kernels load on the
first call, so importing this module compiles nothing. Arrays are made contiguous and of the
kernels' dtypes here, so the kernels hold one signature each.
"""

from __future__ import annotations

import numpy as np


def _f64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _i64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.int64)


def log_likelihoods(
    host: np.ndarray,
    y: np.ndarray,
    censored: np.ndarray,
    var: np.ndarray,
    grid: np.ndarray,
    sigmas: np.ndarray,
    medians: np.ndarray,
    jumps: tuple[float, float, float, float],
) -> np.ndarray:
    """[S, H, A] log likelihood of each host's sessions at each point of its level grid
    ``grid`` [H, A], per session-core sd (`kernels.posterior_grid.log_likelihoods`)."""
    from kernels import posterior_grid as k

    out: np.ndarray = k.log_likelihoods(
        _i64(host),
        _f64(y),
        np.ascontiguousarray(censored, dtype=np.bool_),
        _f64(var),
        _f64(grid),
        _f64(sigmas),
        _f64(medians),
        _f64(np.asarray(jumps)),
    )
    return out


def level_kernels(
    grid: np.ndarray, weight: np.ndarray, mus: np.ndarray, taus: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """``out[:H]`` [H, A, M * T] filled with the host-level prior density times cell width at
    every (mu, tau) of the hyper grid, column mu-index * T + tau-index; ``mus`` is a uniform
    grid, ``out`` a float64 buffer of at least H rows that is reused between calls."""
    from kernels import posterior_grid as k

    hosts = grid.shape[0]
    shape = (grid.shape[1], mus.size * taus.size)
    if out.dtype != np.float64 or not out.flags.c_contiguous or out.shape[1:] != shape:
        raise ValueError(f"level_kernels: out must be C-contiguous float64 [>= {hosts}, {shape}]")
    if out.shape[0] < hosts:
        raise ValueError(f"level_kernels: out holds {out.shape[0]} hosts, {hosts} given")
    step = float(mus[1] - mus[0]) if mus.size > 1 else 1.0
    k.level_kernels(_f64(grid), _f64(weight), float(mus[0]), step, int(mus.size), _f64(taus), out)
    return out[:hosts]


def draw_levels(
    log_lik: np.ndarray,
    grid: np.ndarray,
    log_weight: np.ndarray,
    cells: tuple[np.ndarray, np.ndarray, np.ndarray],
    cell_of: np.ndarray,
    u_pick: np.ndarray,
    u_jitter: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """[D, H] host levels drawn on their grids given each draw's hyper cell (``cells``:
    sigma index, mu and tau of each distinct cell; ``cell_of[d]`` the cell of draw d)."""
    from kernels import posterior_grid as k

    sigma_index, mu, tau = cells
    out: np.ndarray = k.draw_levels(
        _f64(log_lik),
        _f64(grid),
        _f64(log_weight),
        _i64(sigma_index),
        _f64(mu),
        _f64(tau),
        _i64(cell_of),
        _f64(u_pick),
        _f64(u_jitter),
        _f64(lo),
        _f64(hi),
    )
    return out


__all__ = ["draw_levels", "level_kernels", "log_likelihoods"]
