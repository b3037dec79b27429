"""The DuckDB views answer correct counts for the sessions streamed, and the CLI prints them."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from processors.archiver.files import table_files
from processors.archiver.tables import TABLES
from replay.analytics import connect
from tests.replay.conftest import Archived, Cli


def test_every_view_counts_what_was_streamed(archived: Archived) -> None:
    con = connect(archived.archive)
    alice, bob = archived.summaries["alice"], archived.summaries["bob"]
    assert (alice.audio_chunks, bob.audio_chunks, alice.text_events) == (10, 15, 2)

    def per_session(view: str) -> dict[str, int]:
        return dict(con.execute(f"SELECT session_id, count(*) FROM {view} GROUP BY ALL").fetchall())

    assert per_session("audio_chunks") == {"alice": 10, "bob": 15}
    assert per_session("turns") == {"alice": 10, "bob": 15}
    assert per_session("outputs") == {"alice": 10, "bob": 15}
    assert per_session("text_events") == {"alice": 2}
    assert per_session("turn_activity") == {"alice": 10, "bob": 15}
    for view in ("video_frames", "background_tasks", "background_results", "delegations"):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,), view
    assert con.execute("SELECT count(*) FROM dead_letters").fetchone() == (archived.dead_letters_logged(),)
    sessions = con.execute("SELECT session_id, end_reason, audio_chunks, duration_ms FROM sessions ORDER BY 1")
    assert sessions.fetchall() == [("alice", "complete", 10, 2000), ("bob", "complete", 15, 3000)]
    bob_turns = con.execute("SELECT list(DISTINCT turn ORDER BY turn) FROM outputs WHERE session_id = 'bob'")
    assert bob_turns.fetchone() == (list(range(15)),)
    assert con.execute("SELECT count(*) FROM text_events WHERE turn = 6 AND text = 'are you'").fetchone() == (1,)
    con.close()


def test_query_prints_json_csv_and_a_table(archived: Archived, cli: Cli) -> None:
    sql = "SELECT session_id, count(*) AS n, min(samples) AS first FROM audio_chunks GROUP BY ALL ORDER BY 1"
    code, out, _ = cli("query", "--json", sql, *archived.cli_flags())
    rows = json.loads(out)
    assert code == 0 and [(r["session_id"], r["n"]) for r in rows] == [("alice", 10), ("bob", 15)]
    assert isinstance(rows[0]["first"], str)  # payloads as base64
    code, out, _ = cli("query", "--csv", "SELECT session_id, turns FROM sessions ORDER BY 1", *archived.cli_flags())
    assert code == 0 and list(csv.reader(io.StringIO(out))) == [["session_id", "turns"], ["alice", "10"], ["bob", "15"]]
    code, out, _ = cli(
        "query", "SELECT count(*) AS n, any_value(samples) AS pcm FROM audio_chunks", *archived.cli_flags()
    )
    assert code == 0 and "25" in out and "<6400 bytes>" in out and "(1 row)" in out
    code, _, err = cli("query", "SELECT * FROM nowhere", *archived.cli_flags())
    assert code == 1 and "nowhere" in err


def test_events_that_reach_the_log_twice_are_counted_once(archived: Archived, cli: Cli, tmp_path: Path) -> None:
    """A reused session id or a redelivery puts event ids in the log twice: every view and report keeps
    the first by offset. (Before: `sessions` gave 4 rows and `report` 4x the turns.)"""
    copy = tmp_path / "archive"
    shutil.copytree(archived.archive, copy)
    archived_files = [path for table in TABLES for path in table_files(copy, table)]
    for path in archived_files:  # each file holds its rows twice, the copies later in the log
        table = pq.read_table(path, partitioning=None)
        index = table.schema.get_field_index("kafka_offset")
        shifted = pc.add(table.column(index), pa.scalar(1_000_000, pa.int64()))
        later = table.set_column(index, table.schema.field(index), shifted)
        pq.write_table(pa.concat_tables([later, table]), path)
    con = connect(copy)
    sessions = con.execute("SELECT session_id, end_reason, audio_chunks, duration_ms FROM sessions ORDER BY 1")
    assert sessions.fetchall() == [("alice", "complete", 10, 2000), ("bob", "complete", 15, 3000)]
    for view, expected in (("audio_chunks", 25), ("turns", 25), ("outputs", 25), ("turn_activity", 25)):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (expected,), view
    first = con.execute("SELECT max(kafka_offset) FROM audio_chunks").fetchone()
    assert first is not None and first[0] < 1_000_000  # the first record by offset is the one kept
    con.close()
    flags = ["--archive", str(copy), "--kafka", archived.bootstrap, "--topic-prefix", archived.prefix]
    code, out, _ = cli("report", "alice", *flags)
    assert code == 0 and out.startswith("session alice: 2.0 s, 10 turns, complete")
    code, out, _ = cli("report", "--fleet", "--json", *flags)
    assert code == 0 and json.loads(out)["sessions"] == 2 and json.loads(out)["turns"] == 25
