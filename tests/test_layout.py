"""The house's rules, read from the source with `ast`: imports run one way between rooms
(cli -> reporting -> analysis -> engine -> results -> model), no module imports one that
imports it back (directly or through others), `kernels` is imported by `forecast.engine` only,
and each room's ``__init__`` says in one docstring line what lives there.

Every import counts: top of the module, inside functions (lazy imports) and under
``TYPE_CHECKING``, since each is a dependency a reader must follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Rooms of `forecast` from the bottom up: a module may import its own room and rooms below.
ROOMS = ("model", "results", "engine", "analysis", "reporting", "cli")

#: Top-level helpers any room may use; they import nothing of ours.
LEAVES = ("forecast.progress", "forecast.examples")


def modules() -> dict[str, Path]:
    """Every module of the ``forecast`` and ``kernels`` packages, by dotted name."""
    out = {}
    for package in ("forecast", "kernels"):
        for src in sorted((ROOT / package).rglob("*.py")):
            parts = list(src.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = src
    return out


def imports_of(name: str, src: Path, known: Iterable[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` (file ``src``) imports anywhere in it."""
    known = set(known)
    is_package = src.name == "__init__.py"
    found: set[str] = set()

    def deepest(dotted: str) -> str | None:
        parts = dotted.split(".")
        while parts:
            if ".".join(parts) in known:
                return ".".join(parts)
            parts.pop()
        return None

    for node in ast.walk(ast.parse(src.read_text(), str(src))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                hit = deepest(alias.name)
                if hit is not None:
                    found.add(hit)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                hit = deepest(f"{base}.{alias.name}") or deepest(base)
                if hit is not None:
                    found.add(hit)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    mods = modules()
    return {name: imports_of(name, src, mods) for name, src in mods.items()}


def room(module: str) -> str | None:
    """The room of a `forecast` module (None for the package itself, a leaf, or `kernels`)."""
    parts = module.split(".")
    if parts[0] != "forecast" or len(parts) == 1:
        return None
    if parts[1] in ROOMS:
        return parts[1]
    return None


def find_cycle(g: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``g`` as a list of nodes (first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def violations(g: Mapping[str, Iterable[str]]) -> list[str]:
    """Every import that breaks a rule of the house, as readable lines."""
    bad = []
    for src, targets in sorted(g.items()):
        for dst in sorted(targets):
            if dst == "forecast":
                bad.append(f"{src} imports the public facade `forecast` (import the module)")
            elif dst.startswith("kernels") and not (
                src.startswith("forecast.engine.") or src.startswith("kernels")
            ):
                bad.append(f"{src} imports {dst}: kernels are for forecast.engine only")
            elif src.startswith("kernels") and dst.startswith("forecast"):
                bad.append(f"{src} imports {dst}: kernels import nothing of forecast")
            elif src in LEAVES or any(src.startswith(leaf + ".") for leaf in LEAVES):
                if not dst.startswith(src):
                    bad.append(f"{src} is a leaf helper and may import nothing of ours: {dst}")
            else:
                a, b = room(src), room(dst)
                if a is not None and b is not None and ROOMS.index(b) > ROOMS.index(a):
                    bad.append(f"{src} ({a}) imports {dst} ({b}): upward, against the house")
    return bad


def test_checker_catches_a_cycle_and_an_upward_import() -> None:
    """The rules are not vacuous: a made-up graph with a cycle and an upward import fails."""
    made_up = {
        "forecast.model.entities": {"forecast.engine.run"},
        "forecast.engine.run": {"forecast.engine.blocks"},
        "forecast.engine.blocks": {"forecast.engine.run"},
        "forecast.results.result": {"kernels.layout"},
    }
    assert find_cycle(made_up) == [
        "forecast.engine.blocks",
        "forecast.engine.run",
        "forecast.engine.blocks",
    ]
    lines = violations(made_up)
    assert any("upward" in line and "forecast.model.entities" in line for line in lines)
    assert any("kernels are for forecast.engine only" in line for line in lines)


def test_the_checker_reads_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from forecast.engine.run import run\n"
        "def f():\n    from forecast.model import validation as v\n    import kernels.layout\n"
    )
    known = {"forecast.engine.run", "forecast.model", "forecast.model.validation", "kernels"}
    known.add("kernels.layout")
    got = imports_of("forecast.results.m", src, known)
    assert got == {"forecast.engine.run", "forecast.model.validation", "kernels.layout"}


def test_no_import_cycles() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_imports_run_one_way() -> None:
    bad = violations(graph())
    assert not bad, "\n".join(bad)


def test_every_module_is_in_a_room() -> None:
    """Nothing of `forecast` lies outside the rooms but the facade, the cli and the leaves."""
    loose = [
        m
        for m in modules()
        if m.startswith("forecast")
        and m != "forecast"
        and room(m) is None
        and not any(m == leaf or m.startswith(leaf + ".") for leaf in LEAVES)
    ]
    assert loose == []


@pytest.mark.parametrize("name", [r for r in ROOMS if r != "cli"])
def test_each_room_says_what_lives_there(name: str) -> None:
    tree = ast.parse((ROOT / "forecast" / name / "__init__.py").read_text())
    doc = ast.get_docstring(tree)
    where = f"forecast/{name}/__init__.py"
    assert doc and "\n" not in doc.strip(), f"{where} needs a one-line docstring"
    assert len(tree.body) == 1, f"{where} holds only its docstring"


def test_kernels_layout_agrees_with_the_model() -> None:
    """The model's session bound (kept in the model, which may not import kernels) is the
    kernels' own."""
    from forecast.model.entities import MAX_SESSIONS
    from kernels.layout import MAX_SESSIONS as KERNEL_MAX

    assert MAX_SESSIONS == KERNEL_MAX
