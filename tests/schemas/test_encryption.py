"""Payload encryption: round trips, what the associated data binds, tampering, wrapped keys."""

from __future__ import annotations

import msgspec
import pytest

from schemas import (
    AudioChunk,
    BackgroundResult,
    BackgroundTask,
    DeadLetter,
    Event,
    MicroTurn,
    ModelOutput,
    SessionEnded,
    SessionStarted,
    TextEvent,
    VideoFrame,
    decode,
    encode,
)
from schemas.encryption import (
    PAYLOAD_FIELDS,
    SessionCipher,
    encrypt_event,
    new_data_key,
    open_event,
    unwrap_data_key,
    wrap_data_key,
)
from schemas.errors import DecodeError, PayloadError

SID = "call-1"


def env(stream: str, seq: int = 0, session_id: str = SID) -> dict[str, object]:
    return {"event_id": f"{session_id}/{stream}/{seq}", "session_id": session_id, "seq": seq, "event_time_ms": 0}


def samples() -> list[Event]:
    return [
        SessionStarted(**env("session"), metadata={"caller": "+15550100", "campaign": "x"}),  # type: ignore[arg-type]
        AudioChunk(**env("audio"), samples=bytes(range(256)) * 25),  # type: ignore[arg-type]
        VideoFrame(**env("video"), jpeg=b"\xff\xd8jpeg", width=2, height=2),  # type: ignore[arg-type]
        TextEvent(**env("text"), text="my card is 4111 1111 1111 1111"),  # type: ignore[arg-type]
        MicroTurn(**env("turns"), audio=b"\x01\x02" * 3200, video=None, text="hello", background="found it"),  # type: ignore[arg-type]
        ModelOutput(**env("output"), action="SPEAK", text="sure", audio=b"\x03\x04" * 3200, delegate=""),  # type: ignore[arg-type]
        BackgroundTask(**env("task"), task_id="t1", task="look up the order", context={"recent": "hi"}),  # type: ignore[arg-type]
        BackgroundResult(**env("result"), task_id="t1", result="order 42 shipped"),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("event", samples(), ids=lambda e: type(e).__name__)
def test_round_trip_over_the_wire_hides_every_payload_field(event: Event) -> None:
    key = new_data_key()
    sealed = encrypt_event(event, key)
    wire = encode(sealed)
    for name in PAYLOAD_FIELDS[type(event)]:
        value = getattr(event, name)
        if isinstance(value, bytes | str) and len(value) >= 4:
            needle = value if isinstance(value, bytes) else value.encode()
            assert needle not in wire, name
    assert sealed.encrypted
    received = decode(wire)
    assert open_event(received, key) == event


def test_events_without_payload_and_dead_letters_stay_in_the_clear() -> None:
    key = new_data_key()
    ended = SessionEnded(**env("session", 1))  # type: ignore[arg-type]
    letter = DeadLetter(**env("dlq"), source_topic="t", source_partition=0, source_offset=1, reason="bad")  # type: ignore[arg-type]
    assert encrypt_event(ended, key) is ended
    assert encrypt_event(letter, key) is letter


def test_the_same_event_encrypts_differently_each_time() -> None:
    key, event = new_data_key(), samples()[3]
    assert encrypt_event(event, key).encrypted != encrypt_event(event, key).encrypted


@pytest.mark.parametrize(
    "change",
    [
        {"event_id": f"{SID}/text/1"},
        {"session_id": "call-2", "event_id": "call-2/text/0"},
    ],
    ids=["other event", "other session"],
)
def test_ciphertext_moved_to_another_event_or_session_does_not_open(change: dict[str, str]) -> None:
    key = new_data_key()
    sealed = encrypt_event(samples()[3], key)
    moved = msgspec.structs.replace(sealed, **change)
    with pytest.raises(PayloadError, match="does not authenticate"):
        SessionCipher(moved.session_id, key).open(moved)


def test_ciphertext_moved_to_another_event_type_does_not_open() -> None:
    key = new_data_key()
    sealed = encrypt_event(samples()[7], key)  # a BackgroundResult
    other = TextEvent(**env("result"), text="", encrypted=sealed.encrypted)  # type: ignore[arg-type]
    with pytest.raises(PayloadError, match="does not authenticate"):
        open_event(other, key)


def test_altered_ciphertext_and_another_key_fail_as_decode_errors() -> None:
    key = new_data_key()
    sealed = encrypt_event(samples()[1], key)
    flipped = bytearray(sealed.encrypted)
    flipped[20] ^= 1
    with pytest.raises(PayloadError):
        open_event(msgspec.structs.replace(sealed, encrypted=bytes(flipped)), key)
    with pytest.raises(DecodeError, match="does not authenticate"):  # workers dead-letter it
        open_event(sealed, new_data_key())
    with pytest.raises(PayloadError, match="expected format"):
        open_event(msgspec.structs.replace(sealed, encrypted=b"\x02" + sealed.encrypted[1:]), key)


def test_a_cipher_refuses_another_sessions_event() -> None:
    event = TextEvent(**env("text", session_id="call-2"), text="x")  # type: ignore[arg-type]
    with pytest.raises(PayloadError, match="expected an event of session call-1"):
        SessionCipher(SID, new_data_key()).encrypt(event)


def test_wrapped_key_opens_only_with_its_master_key_and_session() -> None:
    master, key = new_data_key(), new_data_key()
    wrapped = wrap_data_key(master, SID, key)
    assert key not in wrapped
    assert unwrap_data_key(master, SID, wrapped) == key
    with pytest.raises(PayloadError):
        unwrap_data_key(master, "call-2", wrapped)
    with pytest.raises(PayloadError):
        unwrap_data_key(new_data_key(), SID, wrapped)
