"""A listing kept in a cache file is only trusted when it has the shape `listing()` writes."""

from __future__ import annotations

from pathlib import Path

from replay.analytics.listing import added_since, listing


def test_files_added_since_a_listing_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"1")
    before = listing(tmp_path, [tmp_path / "a"])
    (tmp_path / "b").write_bytes(b"22")
    now = listing(tmp_path, [tmp_path / "a", tmp_path / "b"])
    assert added_since(before, now) == ["b"]
    assert added_since(now, now) == []
    assert added_since(now, before) is None  # a file gone
    (tmp_path / "a").write_bytes(b"333")
    assert added_since(before, listing(tmp_path, [tmp_path / "a", tmp_path / "b"])) is None  # a file changed


def test_a_planted_listing_means_from_scratch_not_a_crash(tmp_path: Path) -> None:
    now = listing(tmp_path, [])
    for planted in (None, "x", [["a", 1]], [[["a"], 1, 2]], [["a", [1], 2]], [["a", True, 2]], [{"a": 1}]):
        assert added_since(planted, now) is None, planted
