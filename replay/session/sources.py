"""Where a recording is read from: the Kafka log (recent sessions) or the Parquet archive (all).

Both give the same `Recording`: the archive stores every event with the topic, partition and
offset it was read from, so sorting archived rows by (topic, partition, offset) restores the
log order within each topic, which is all replay relies on.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from aiokafka.errors import KafkaError

from replay.session.errors import PayloadUnreadable, SessionErased, SessionNotFound, SourceUnavailable
from replay.session.recording import Recording
from schemas import Topics
from schemas.envelope import Event
from schemas.errors import DecodeError
from schemas.errors import SessionErased as KeyErased
from streams.errors import TopicMissing
from streams.key_paths import KeyStoreError
from streams.log import read_topics, session_partition
from streams.vault import current as current_vault

log = structlog.get_logger(__name__)

ARCHIVED_TABLES = (
    "session_started",
    "session_ended",
    "audio_chunk",
    "video_frame",
    "text_event",
    "background_result",
    "micro_turn",
    "model_output",
    "playback",
)
"""The archive tables a recording is made of (schema tags)."""


async def from_kafka(bootstrap: str, topics: Topics, session_id: str) -> Recording:
    """The session as the log holds it now (only its partition of each topic is read)."""
    names = [
        topics.session,
        topics.audio,
        topics.video,
        topics.text,
        topics.background_results,
        topics.turns,
        topics.output,
        topics.playback,
    ]
    partition = session_partition(session_id, topics.partitions)
    try:
        records = await read_topics(bootstrap, names, topics.partitions, session_id, only_partition=partition)
    except KafkaError as exc:
        raise SourceUnavailable(
            f"reading session {session_id} from Kafka at {bootstrap} failed: {exc}; "
            "is the stack up (`microturn status`)?"
        ) from exc
    except TopicMissing as exc:
        raise SourceUnavailable(f"{exc} (or pass --kafka/--topic-prefix)") from exc
    events = [r.event for r in records if r.event is not None]
    where = f"kafka {bootstrap} ({topics.prefix}.*)"
    log.info("recording_read", session_id=session_id, source="kafka", records=len(records), partition=partition)
    return _found(
        Recording.from_events(session_id, where, opened(session_id, events)),
        "the log (retention may have dropped it: try --source archive)",
    )


def from_archive(root: Path, session_id: str, *, sealed: bool = False) -> Recording:
    """The session as the Parquet archive at `root` holds it (committed files only).

    `sealed`: leave encrypted payloads as archived, for readers of the record's shape alone (the
    audit bundle), which must work for an erased session too.
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from processors.archiver.tables import TABLES

    if not root.is_dir():
        raise SourceUnavailable(
            f"no archive at {root}: start an archiver (`microturn archive run`), "
            "pass --archive DIR or set MICROTURN_ARCHIVE_DIR"
        )
    keyed: list[tuple[tuple[str, int, int], Event]] = []
    for name in ARCHIVED_TABLES:
        spec, folder = TABLES[name], root / name
        if not folder.is_dir():
            continue
        dataset = ds.dataset(folder, schema=spec.schema, format="parquet", ignore_prefixes=[".", "_"])
        rows = dataset.to_table(filter=pc.field("session_id") == session_id).to_pylist()
        for row in rows:
            where = (str(row["kafka_topic"]), int(row["kafka_partition"]), int(row["kafka_offset"]))
            keyed.append((where, spec.event_from_row(row)))
    keyed.sort(key=lambda pair: pair[0])
    events = [e for _, e in keyed]
    log.info("recording_read", session_id=session_id, source="archive", rows=len(keyed))
    return _found(
        Recording.from_events(session_id, f"archive {root}", events if sealed else opened(session_id, events)),
        f"the archive at {root} (is its archiver running? `microturn archive sync` waits for it)",
    )


def opened(session_id: str, events: list[Event]) -> list[Event]:
    """`events` with their payloads in the clear; SessionErased when the session's key was erased,
    PayloadUnreadable when its key is out of reach or a ciphertext was altered."""
    vault = current_vault()
    try:
        return [vault.open(event) for event in events]
    except KeyErased as exc:
        raise SessionErased(
            f"session {session_id} was erased (`microturn erase`): its audio, video and text can no "
            "longer be read by anyone; `microturn audit verify` still checks its record"
        ) from exc
    except (DecodeError, KeyStoreError) as exc:
        raise PayloadUnreadable(f"session {session_id}: {exc}") from exc


def _found(recording: Recording, where: str) -> Recording:
    if recording.empty:
        raise SessionNotFound(f"session {recording.session_id!r} has no events in {where}")
    return recording
