"""`report SESSION` computes segments, overlaps and responses in one statement; they must equal
what the views of those names give for the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from benchmarks.query_archive_data import write_batch
from replay.analytics import connect, session_report
from schemas.clock import TURN_MS


def _view(con: duckdb.DuckDBPyConnection, view: str, session_id: str) -> list[tuple[int, int]]:
    rows = con.execute(f"SELECT start_turn, end_turn FROM {view} WHERE session_id = ? ORDER BY 1", [session_id])
    return [(start * TURN_MS, (end + 1) * TURN_MS) for start, end in rows.fetchall()]


def _responses(con: duckdb.DuckDBPyConnection, session_id: str) -> list[dict[str, Any]]:
    result = con.execute(
        "SELECT stopped_at_ms, response_turn, latency_ms, talked_over FROM responses WHERE session_id = ? "
        "ORDER BY stop_turn",
        [session_id],
    )
    names = [d[0] for d in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_the_report_shape_equals_the_views(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    write_batch(root, 0, sessions=8, turns=200, seed=3)  # talk-over in some, backchannels, a delegation each
    con = connect(root)
    responses = []
    try:
        for n in range(8):
            session_id = f"s{n:07d}"
            doc = session_report(con, session_id)
            assert doc["caller"]["segments"] == _view(con, "caller_segments", session_id) != []
            assert doc["model"]["segments"] == _view(con, "model_segments", session_id) != []
            assert doc["overlaps"]["segments"] == _view(con, "overlap_segments", session_id)
            assert doc["responses"] == _responses(con, session_id) != []
            responses += doc["responses"]
    finally:
        con.close()
    assert any(r["talked_over"] for r in responses) and any(r["latency_ms"] is not None for r in responses)
