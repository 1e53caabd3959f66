"""The kernels' on-disk cache is dropped when any kernel source changes (numba alone only
notices changes to a function's own file, not to the functions it inlines)."""

from __future__ import annotations

from pathlib import Path

from kernels.options import drop_stale_cache


def test_cache_dropped_when_any_source_changes(tmp_path: Path) -> None:
    (tmp_path / "rng.py").write_text("A = 1\n")
    (tmp_path / "viewer.py").write_text("B = 2\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    assert drop_stale_cache(tmp_path)  # no stamp yet
    (cache / "viewer.simulate-1.py311.nbi").write_bytes(b"index")
    (cache / "viewer.simulate-1.py311.1.nbc").write_bytes(b"code")
    (cache / "viewer.cpython-311.pyc").write_bytes(b"python")
    assert not drop_stale_cache(tmp_path)  # sources unchanged: cache kept
    assert len(list(cache.glob("*.nb?"))) == 2
    (tmp_path / "rng.py").write_text("A = 3\n")  # another file than the cached function's
    assert drop_stale_cache(tmp_path)
    assert not list(cache.glob("*.nb?"))
    assert (cache / "viewer.cpython-311.pyc").exists()  # Python's own cache untouched
