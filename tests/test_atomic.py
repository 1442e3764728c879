"""``textssl.atomic``: a directory is either fully written or not there."""

from __future__ import annotations

import pytest

from textssl.atomic import atomic_dir


def test_atomic_dir_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as d:
        (d / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"

    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as d:
        (d / "a.txt").write_text("partial")
        raise KeyboardInterrupt
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
