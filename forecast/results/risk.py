"""Risk levels of VaR and CVaR, and the names of their columns (no heavy imports: the
portfolio checks use them before anything numeric is loaded)."""

from __future__ import annotations

#: The default level of VaR and CVaR.
RISK_LEVEL = 0.95


def level_label(level: float) -> str:
    """The suffix of a risk level's columns: 0.95 -> "95", 0.99 -> "99", 0.975 -> "97_5"."""
    return f"{round(level * 100, 6):g}".replace(".", "_")


def risk_columns(levels: tuple[float, ...] = (RISK_LEVEL,)) -> tuple[str, ...]:
    """``var<L>``, ``cvar<L>`` for each level, then ``p_loss`` and ``p_loss_mcse``."""
    pairs = [(f"var{level_label(x)}", f"cvar{level_label(x)}") for x in levels]
    return (*(c for pair in pairs for c in pair), "p_loss", "p_loss_mcse")
