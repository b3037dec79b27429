"""The Playback event and its topic: recorded and archived, never an input of the model (item 14)."""

from __future__ import annotations

from processors.archiver.tables import TABLE_OF
from processors.assembler import INPUT_TYPES
from schemas import Playback, Topics, decode, encode, event_id


def test_playback_round_trips_and_has_its_own_topic_and_table() -> None:
    event = Playback(
        event_id=event_id("s", "playback", 0),
        session_id="s",
        seq=0,
        event_time_ms=300,
        turn=1,
        kind="cleared",
        turns=(0, 1),
        audio_ms=400,
        at_turn=2,
    )
    assert decode(encode(event)) == event
    topics = Topics("p")
    assert topics.playback == "p.playback" and topics.playback in {s.name for s in topics.specs()}
    assert TABLE_OF[Playback].name == "playback"


def test_the_assembler_never_takes_playback() -> None:
    assert Playback not in INPUT_TYPES


def test_a_playback_row_in_the_archive_gives_back_the_same_event_and_bytes() -> None:
    import msgspec
    import pyarrow as pa

    event = Playback(
        event_id=event_id("s", "playback", 3),
        session_id="s",
        seq=3,
        event_time_ms=800,
        turn=4,
        kind="played",
        turns=(2, 3),
        audio_ms=400,
    )
    spec = TABLE_OF[Playback]
    archive = {"kafka_topic": "p.playback", "kafka_partition": 0, "kafka_offset": 1, "kafka_timestamp_ms": 0}
    audit = {"audit_seq": 0, "audit_digest": b"\0" * 32, "audit_link": b"\0" * 32, "audit_prev_event_id": ""}
    row = pa.Table.from_pylist([{**msgspec.structs.asdict(event), **archive, **audit}], schema=spec.schema)
    read = row.to_pylist()[0]
    assert spec.event_from_row(read) == event
    assert spec.canonical(read) == encode(event)
