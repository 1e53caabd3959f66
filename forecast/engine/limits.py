"""What a run may cost, checked before it starts, and what its kernels may return, checked
before it reaches a table.

Before: the largest counts one session can produce (at the largest traffic draw the sampler
can make) must fit int64 with room to spare (`check_scale`); the per-viewer kernel's work
(expected arrivals) must be within reason (`check_viewer_work`); a run's tables and the
kernels' workspaces must fit in the memory this machine has free (`check_memory`). Each
refusal is a ValueError naming the field to change, the estimate and the limit.

After: kernel outputs hold no negative count and no NaN, infinite or negative money
(`check_outputs`); anything else is refused with a clear error before a table is built, so
no file is written from it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Most arrivals one session may reach at a traffic draw of probability about 1e-12 (the normal
#: parts `Z_TAIL` sds out, a hit `E_TAIL` means long). Exposures are at most arrivals x
#: products in the stream (<= 10,000), so counts stay below 2**62; rarer draws are caught by
#: `check_outputs`.
MAX_SESSION_VIEWS = 1e14

#: A standard normal exceeds it with probability 1e-12 (two-sided).
Z_TAIL = 7.13
#: An exponential of mean 1 exceeds it with probability 1e-6 (a hit, itself drawn with its
#: probability, on top of the normal parts at 1e-12).
E_TAIL = 13.82

#: The stay nodes of a session cover its stay law between these tail probabilities (the rest
#: is put on the end nodes), the host's normal out to `Z_STAY` sds (probability 1e-3 each).
STAY_TAIL = 1e-3
Z_STAY = 3.29

#: Most stay nodes of one session: a wider stay law gets nodes spaced wider than
#: ``market.stay_step`` (the cohort kernel's exposure rates are prepared once per node).
MAX_STAY_NODES = 40

#: Most expected likes, comments or gifts of one session at its largest traffic draw.
MAX_SESSION_ENGAGEMENT = 1e17

#: Most arrival bins of one strategy (24 bytes each, plus the integration's temporaries).
MAX_BINS = 5_000_000

#: Most expected arrivals one per-viewer run may simulate (paths x expected arrivals per
#: path): about 18 minutes at the kernel's 4.7e7 arrivals a second on 2 cores (measured on
#: ``mega_only``), enough for 10,000 paths of a campaign with a mega session.
MAX_VIEWER_ARRIVALS = 5e10

#: Share of the free memory a run may plan to use.
MEMORY_SHARE = 0.8

#: Bytes per row of a path table and of a session table (measured: 210 and 270), rounded up.
PATH_ROW_BYTES = 230
SESSION_ROW_BYTES = 300


def available_memory() -> int:
    """Bytes of memory free for a new allocation: ``MemAvailable`` of /proc/meminfo on Linux,
    else the free physical pages."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover - not Linux
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 2**62


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_memory(need: float, what: str, advice: str) -> None:
    """Refuse to start ``what`` if it would need more than `MEMORY_SHARE` of the free memory."""
    free = available_memory()
    limit = MEMORY_SHARE * free
    if need > limit:
        raise ValueError(
            f"{what} would need about {_gib(need)} of memory; {_gib(limit)} may be used "
            f"({MEMORY_SHARE:.0%} of the {_gib(free)} free): {advice}"
        )


def run_memory(paths: int, sessions: int, keep_sessions: bool) -> float:
    """Bytes a run of ``paths`` paths holds at its peak: its tables, twice while the parts
    are joined into one."""
    rows = paths * PATH_ROW_BYTES + (paths * sessions * SESSION_ROW_BYTES if keep_sessions else 0)
    return 2.0 * rows


def check_outputs(
    counts: np.ndarray, money: np.ndarray, first_path: int, labels: list[str]
) -> None:
    """Refuse kernel output with a negative count or a NaN, infinite or negative amount."""
    import numpy as np

    from kernels import layout as L

    bad_counts = counts < 0
    bad_money = ~np.isfinite(money) | (money < 0)
    if not bad_counts.any() and not bad_money.any():
        return
    if bad_counts.any():
        p, s, c = (int(x[0]) for x in np.nonzero(bad_counts))
        what = f"{L.COUNT_NAMES[c]} = {counts[p, s, c]}"
    else:
        p, s, c = (int(x[0]) for x in np.nonzero(bad_money))
        what = f"{L.MONEY_NAMES[c]} = {money[p, s, c]}"
    raise ValueError(
        f"session {labels[s]!r} of path {first_path + p}: the simulation produced {what}, "
        "beyond what a table may hold; the inputs are too extreme (lower views_per_hour, "
        "traffic_sigma, prices or rates)"
    )
