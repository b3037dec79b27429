"""A question about one session reads only that session's rows: the session filter reaches every
Parquet scan of every view, so DuckDB skips the other sessions' row groups by their statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.query_archive_data import write_batch
from replay.analytics import connect
from replay.analytics.shape import shape_views

VIEWS = ["sessions", "audio_chunks", "outputs", *shape_views()]


def _scan_filters(plan: dict[str, Any]) -> list[str]:
    """The filters of every Parquet scan in a plan (EXPLAIN's JSON form), one string each."""
    found = [str(plan.get("extra_info", {}).get("Filters", ""))] if "READ_PARQUET" in plan.get("name", "") else []
    for child in plan.get("children", []):
        found += _scan_filters(child)
    return found


@pytest.mark.parametrize("view", VIEWS)
def test_a_session_filter_reaches_every_scan(tmp_path: Path, view: str) -> None:
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=2, turns=200, seed=0)  # with delegations, tasks and results
    con = connect(root)
    try:
        [(_, text)] = con.execute(
            f"EXPLAIN (FORMAT JSON) SELECT * FROM {view} WHERE session_id = 's0000001'"
        ).fetchall()
    finally:
        con.close()
    filters = [f for plan in json.loads(text) for f in _scan_filters(plan)]
    assert filters and all("session_id='s0000001'" in f for f in filters), filters
