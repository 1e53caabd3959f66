"""Parquet files of forecasts: the path table plus provenance in the key-value metadata."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.model.fitted import METADATA_KEY

if TYPE_CHECKING:
    import polars as pl

FORMAT = 1


def _mode_for(target: Path) -> int:
    """Permissions for a new file at ``target``: those of the file it replaces, else what the
    process umask gives an ordinary new file (mkstemp's own 0600 would hide results)."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def staged(*paths: str | Path) -> Iterator[list[Path]]:
    """Temporary names beside each of ``paths``, to write in the block; when the block
    completes they are moved into place one after the other (a rename each, so a reader
    sees the old file or the new one, never a part), and if it fails they are removed and
    the old files stay as they were. A process killed outright (SIGKILL, power loss) can
    leave a temporary ``.<name>.<random>.tmp`` beside the target, never a truncated target;
    `remove_stale` clears those."""
    targets = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(fd)
            temps.append(Path(name))
        yield temps
        for tmp, target in zip(temps, targets, strict=True):
            os.chmod(tmp, _mode_for(target))
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def atomic_write(path: str | Path, write: Any) -> None:
    """Call ``write(tmp_path)`` and move the file to ``path`` only when it completed, so a
    crash never leaves a truncated file where a good one stood (see `staged`)."""
    with staged(path) as (tmp,):
        write(str(tmp))


def remove_stale(directory: str | Path, names: Sequence[str]) -> int:
    """Remove the temporaries `staged` left beside ``directory/<name>`` for each of
    ``names`` when a writer was killed outright; returns how many it removed."""
    removed = 0
    for name in names:
        for tmp in Path(directory).glob(f".{glob.escape(name)}.*.tmp"):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def write_table(frame: pl.DataFrame, metadata: dict[str, Any], path: str | Path) -> None:
    """Write ``frame`` to ``path`` (staged, `atomic_write`) with ``metadata`` as JSON under
    the key ``forecast`` of the file's key-value metadata."""
    import pyarrow.parquet as pq

    table = frame.to_arrow()
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(metadata, sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The provenance dict stored by `write_forecast`."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path}: not a forecast file (no 'forecast' key in its metadata)")
    meta: dict[str, Any] = json.loads(raw)
    return meta
