"""The wire codec: round trips, compatibility, and precise errors."""

from __future__ import annotations

import msgspec
import pytest

from schemas import (
    AudioChunk,
    BackgroundResult,
    BackgroundTask,
    DeadLetter,
    DecodeError,
    Event,
    MicroTurn,
    ModelOutput,
    SessionEnded,
    SessionStarted,
    TextEvent,
    Topics,
    VideoFrame,
    decode,
    encode,
    event_id,
)
from schemas.codec import decode_as
from schemas.envelope import SCHEMA_VERSION


def envelope(stream: str, seq: int = 3) -> dict[str, object]:
    return {"event_id": event_id("s1", stream, seq), "session_id": "s1", "seq": seq, "event_time_ms": 600, "turn": 3}


EXAMPLES: list[Event] = [
    SessionStarted(**envelope("session"), source="call.wav", media={"codec": "pcm_mulaw"}),  # type: ignore[arg-type]
    SessionEnded(**envelope("session"), reason="truncated", turns=7, detail="decode error"),  # type: ignore[arg-type]
    AudioChunk(**envelope("audio"), samples=bytes(range(256)) * 25, valid_samples=1200, last=True),  # type: ignore[arg-type]
    VideoFrame(**envelope("video"), jpeg=b"\xff\xd8\xff\xe0jpeg", width=80, height=80),  # type: ignore[arg-type]
    TextEvent(**envelope("text"), text="héllo, wörld"),  # type: ignore[arg-type]
    MicroTurn(**envelope("turn"), audio=b"\x00\x01" * 3200, event_ids=("a", "b"), closed_by="ticker"),  # type: ignore[arg-type]
    ModelOutput(**envelope("output"), action="SPEAK", text="hi", audio=b"\x00" * 6400, final=True),  # type: ignore[arg-type]
    BackgroundTask(**envelope("task"), task_id="t1", task="look up", context={"elapsed_ms": "600"}),  # type: ignore[arg-type]
    BackgroundResult(**envelope("result"), task_id="t1", result="42", tool="calculator"),  # type: ignore[arg-type]
    DeadLetter(
        **envelope("dlq"), source_topic="x", source_partition=1, source_offset=9, reason="bad", raw_value=b"\x00"
    ),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_round_trips_exactly(event: Event) -> None:
    assert decode(encode(event)) == event


def test_payloads_travel_as_raw_bytes_not_base64() -> None:
    chunk = EXAMPLES[2]
    assert isinstance(chunk, AudioChunk)
    wire = encode(chunk)
    assert chunk.samples in wire
    assert len(wire) < len(chunk.samples) + 300


def test_a_newer_reader_reads_an_older_event_without_the_newer_fields() -> None:
    # An output written before `final` existed: the field takes its default.
    old = {"schema": "model_output", **envelope("output"), "action": "LISTEN", "schema_version": 1}
    event = decode(msgspec.msgpack.encode(old))
    assert isinstance(event, ModelOutput)
    assert event.final is False and event.audio == b""


def test_events_from_a_newer_schema_version_are_refused_with_advice() -> None:
    newer = {"schema": "text_event", **envelope("text"), "text": "x", "schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(DecodeError, match="upgrade microturn"):
        decode(msgspec.msgpack.encode(newer))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "got 0 bytes"),
        (b"not msgpack at all", "expected a microturn event"),
        (msgspec.msgpack.encode({"schema": "nope", "x": 1}), "Invalid value 'nope'"),
        (msgspec.msgpack.encode({"schema": "audio_chunk", **envelope("audio")}), "missing required field `samples`"),
    ],
)
def test_garbage_raises_decode_error_naming_what_arrived(data: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError, match=fragment):
        decode(data)


def test_decode_as_checks_the_type() -> None:
    with pytest.raises(DecodeError, match="expected a MicroTurn event; got a TextEvent"):
        decode_as(encode(EXAMPLES[4]), MicroTurn)


def test_events_are_immutable() -> None:
    with pytest.raises(AttributeError):
        EXAMPLES[4].seq = 5  # type: ignore[misc]


def test_event_ids_are_deterministic_per_session_stream_and_seq() -> None:
    assert event_id("s", "audio", 1) == event_id("s", "audio", 1)
    assert len({event_id("s", "audio", 1), event_id("s", "video", 1), event_id("t", "audio", 1)}) == 3


def test_topics_share_one_partition_count_and_name_their_limits() -> None:
    topics = Topics("p")
    specs = topics.specs()
    assert len({s.name for s in specs}) == len(specs) == 11  # 10 + the playback topic
    assert {s.partitions for s in specs} == {topics.partitions}
    assert all(s.name.startswith("p.") for s in specs)
    assert topics.spec(topics.audit).config["cleanup.policy"] == "compact"
    assert topics.spec(topics.audio).max_message_bytes >= 6400 + 1024


@pytest.mark.parametrize("closed_by", ["audio", "video", "ticker", "end"])
def test_every_way_a_turn_can_close_survives_the_wire(closed_by: str) -> None:
    turn = MicroTurn(**envelope("turn"), closed_by=closed_by)  # type: ignore[arg-type]
    assert decode(encode(turn)) == turn


def test_arrow_columns_follow_the_event_definitions() -> None:
    import pyarrow as pa

    from schemas.arrow import event_fields

    tag, fields = event_fields(AudioChunk)
    by_name = {f.name: f for f in fields}
    assert tag == "audio_chunk"
    assert [f.name for f in fields][:3] == ["event_id", "session_id", "seq"]
    assert by_name["samples"].type == pa.binary() and by_name["turn"].nullable
    assert by_name["last"].type == pa.bool_()
    assert {f.name for f in event_fields(ModelOutput)[1]} >= set(ModelOutput.__struct_fields__)


def test_invalid_utf8_in_a_text_field_is_a_decode_error() -> None:
    valid = {"schema": "text_event", "event_id": "s/text/0", "session_id": "s", "seq": 0, "event_time_ms": 0}
    raw = msgspec.msgpack.encode({**valid, "text": "x"}).replace(b"\xa1x", b"\xa1\xff")
    with pytest.raises(DecodeError, match="expected a microturn event"):
        decode(raw)
