"""Portfolio files for the report tests: the bundled strategies copied into a directory, and
portfolio TOML written from keyword arguments."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from forecast import examples

#: Paths per campaign in the report tests: enough for stable tables, quick on 2 cores.
PATHS = 2_000
SEED = 5


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(x) for x in value) + "]"
    return repr(value)


def write_portfolio(directory: Path, name: str = "portfolio.toml", **keys: Any) -> Path:
    """A portfolio file with ``keys`` (campaigns, seed, paths, ...) in ``directory``."""
    lines = [f"{k} = {_toml(v)}" for k, v in keys.items()]
    path = directory / name
    path.write_text("\n".join(lines) + "\n")
    return path


def copy_examples(directory: Path) -> list[Path]:
    """The bundled strategy files, copied into ``directory`` (sorted by name)."""
    directory.mkdir(parents=True, exist_ok=True)
    return sorted(Path(shutil.copy(examples.path(n), directory)) for n in examples.NAMES)


def variants(directory: Path, base: str, n: int) -> list[Path]:
    """``n`` copies of the bundled ``base`` strategy named ``<base>_00`` .. in ``directory``;
    each has its own discount (10 % + i %), so no two are the same strategy."""
    directory.mkdir(parents=True, exist_ok=True)
    text = examples.path(base).read_text()
    out = []
    for i in range(n):
        name = f"{base}_{i:02d}"
        body = re.sub(r'^name = "[^"]*"', f'name = "{name}"', text, count=1, flags=re.M)
        body = re.sub(r"^discount = [0-9.]+", f"discount = {0.10 + 0.01 * i:.2f}", body, flags=re.M)
        path = directory / f"{name}.toml"
        path.write_text(body)
        out.append(path)
    return out
