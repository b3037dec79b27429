"""DuckDB views over the Parquet archive: one per event type, plus the conversation's shape.

Event views (each with `session_id`, and `turn` where events have one; every archived column,
plus `date` and `hour` from the partition folders):

    sessions            one row per session: SessionStarted joined with SessionEnded
    audio_chunks        caller audio, with `rms` (0..1) so nobody needs to read the samples
    video_frames, text_events, turns (MicroTurns), outputs (ModelOutputs, with `audio_rms`),
    background_tasks, background_results, dead_letters

Derived views describe the conversation's shape; see `replay.analytics.shape`.

Every table view holds each event once: delivery is at least once and a session id may be reused
by mistake, so the log can hold an event id twice; the first record by log offset is kept (the
one consumers acted on), in the table views and so in every view and report built on them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from processors.archiver.files import table_files
from processors.archiver.tables import TABLES
from replay.analytics.shape import shape_views
from replay.errors import ReplayError

EVENT_VIEWS = {
    "audio_chunks": "audio_chunk",
    "video_frames": "video_frame",
    "text_events": "text_event",
    "turns": "micro_turn",
    "outputs": "model_output",
    "background_tasks": "background_task",
    "background_results": "background_result",
    "dead_letters": "dead_letter",
}
"""Friendly view name -> archive table."""

_SESSIONS = """
CREATE VIEW sessions AS
SELECT session_id, s.source, s.has_audio, s.has_video, s.media, s.metadata,
       make_timestamp((s.wall_time_ns // 1000)::BIGINT) AS started_at, e.reason AS end_reason, e.turns,
       e.audio_chunks, e.event_time_ms AS duration_ms, e.detail,
       make_timestamp((e.wall_time_ns // 1000)::BIGINT) AS ended_at
FROM session_started s FULL OUTER JOIN session_ended e USING (session_id)
"""


_FIRST_PER_EVENT = """
SELECT * FROM {source}
QUALIFY row_number() OVER (PARTITION BY session_id, event_id ORDER BY kafka_partition, kafka_offset) = 1
"""
"""One row per event id, the first by log offset. `session_id` leads the window's partition (an event
id names its session) so that a filter on the session still reaches the Parquet scan."""


def _fingerprints(files: list[Path]) -> set[str]:
    """The schema fingerprints in the names of a table's files (`part-<epoch>-<fingerprint>-<id>.parquet`)."""
    return {path.name.split("-")[2] if path.name.count("-") >= 3 else "" for path in files}


def _sql_list(files: list[Path]) -> str:
    return "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"


def _empty(schema: pa.Schema) -> pa.Table:
    with_folders = schema.append(pa.field("date", pa.date32())).append(pa.field("hour", pa.int64()))
    return with_folders.empty_table()


def connect(root: Path, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with every view over the archive at `root`."""
    if not root.is_dir():
        raise ReplayError(f"no archive at {root}: start an archiver (`microturn archive run`) or pass --archive")
    con = duckdb.connect(config={"threads": threads} if threads else {})
    for name, spec in TABLES.items():
        files = table_files(root, name)  # the very files the audit verifier checks
        schemas = _fingerprints(files)
        if schemas:  # files of several schema versions are read by column name, older ones padded with NULLs
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_list(files)}, hive_partitioning = true, "
                f"union_by_name = {len(schemas) > 1})"
            )
        else:  # no files yet: an empty view with the same columns, so queries still bind
            con.register(f"_empty_{name}", _empty(spec.schema))
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM _empty_{name}")
    for name in TABLES:  # de-duplicated under the table's own name
        con.execute(f"ALTER VIEW {name} RENAME TO _archived_{name}")
        con.execute(f"CREATE VIEW {name} AS {_FIRST_PER_EVENT.format(source=f'_archived_{name}')}")
    for view, table in EVENT_VIEWS.items():
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM {table}")
    con.execute(_SESSIONS)
    for name, body in shape_views().items():
        con.execute(f"CREATE VIEW {name} AS {body}")
    return con


def query(root: Path, sql: str, params: list[object] | None = None) -> tuple[list[str], list[tuple[object, ...]]]:
    """Run `sql` over the archive's views; (column names, rows). ReplayError naming DuckDB's complaint."""
    con = connect(root)
    try:
        result = con.execute(sql, params or [])
        columns = [d[0] for d in result.description or ()]
        return columns, result.fetchall()
    except duckdb.Error as exc:
        raise ReplayError(f"query failed: {exc}") from exc
    finally:
        con.close()
