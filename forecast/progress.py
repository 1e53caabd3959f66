"""Progress bars for long runs: on a terminal only, and only once a run has taken a while.

`bar` yields a function that takes the number of paths just finished. With ``enabled`` it
draws a tqdm bar on stderr, but only if stderr is a terminal (tqdm's ``disable=None``) and
only after `DELAY_S` seconds, so quick runs and piped or logged output stay clean.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

#: Seconds a run must take before its bar appears.
DELAY_S = 1.0

Tick = Callable[[int], None]


def _ignore(_: int) -> None:
    return None


@contextlib.contextmanager
def bar(total: int, desc: str, enabled: bool, unit: str = "path") -> Iterator[Tick]:
    """A bar over ``total`` units labelled ``desc``; yields ``tick(n)``, called as ``n`` more
    units finish. The bar is removed when the block ends (also on Ctrl-C)."""
    if not enabled:
        yield _ignore
        return
    from tqdm import tqdm

    with tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=total >= 10_000,  # 12.3k/100k paths; whole numbers for campaigns, figures
        delay=DELAY_S,
        disable=None,  # None: off unless the stream is a terminal
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
    ) as progress:

        def tick(n: int) -> None:
            progress.update(n)

        yield tick
