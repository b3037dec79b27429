"""Hostile bytes and hostile, well-typed events against the wire codec: DecodeError or an event, nothing else."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import DeadLetter, DecodeError, Event, MicroTurn, TextEvent, decode, encode
from schemas.codec import decode_as
from schemas.events import ANY_EVENT
from schemas.ids import is_session_id

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAGS = ["session_started", "session_ended", "audio_chunk", "video_frame", "text_event", "micro_turn",
        "model_output", "background_task", "background_result", "dead_letter", "playback"]  # fmt: skip

FIELDS = ["turn", "samples", "jpeg", "width", "height", "text", "action", "task_id", "task", "result",
          "source_topic", "source_partition", "source_offset", "reason", "audio", "schema_version",
          "valid_samples", "last", "final", "closed_by", "event_ids"]  # fmt: skip

huge_ints = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from([-1, 0, 2**31, 2**62, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)]),
)
strings = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "../x", "a\nb", "\x1b[2J", "x" * 129, "x" * 10_000, "s1"]),
)
scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(), strings, st.binary(max_size=64))


@st.composite
def hostile_maps(draw: st.DrawFn) -> dict[str, object]:
    """A map that looks like an event: a real tag, envelope fields of any type and size."""
    fields: dict[str, object] = {
        "schema": draw(st.sampled_from(TAGS)),
        "event_id": draw(strings),
        "session_id": draw(strings),
        "seq": draw(huge_ints),
        "event_time_ms": draw(huge_ints),
    }
    extra = draw(st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=8))
    return {**fields, **extra}


def _check(data: bytes) -> None:
    try:
        event = decode(data)
    except DecodeError as exc:
        assert str(exc)
        return
    assert isinstance(event, ANY_EVENT)  # type: ignore[arg-type]
    if not isinstance(event, DeadLetter):
        assert is_session_id(event.session_id)


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_decode_to_an_event_or_a_decode_error(data: bytes) -> None:
    _check(data)


@FUZZ
@given(hostile_maps())
def test_hostile_event_shaped_maps_decode_to_an_event_or_a_decode_error(fields: dict[str, object]) -> None:
    _check(msgspec.msgpack.encode(fields))
    with contextlib.suppress(DecodeError):
        decode_as(msgspec.msgpack.encode(fields), MicroTurn)


@pytest.mark.parametrize("session_id", ["", "../../etc", "a\nb", "\x1b[31m", "x" * 10_000, 'q"uote'])
def test_an_event_with_an_invalid_session_id_is_a_decode_error(session_id: str) -> None:
    event = TextEvent(event_id="e", session_id=session_id, seq=0, event_time_ms=0, text="hi")
    with pytest.raises(DecodeError, match="expected a session id of 1-128 characters") as info:
        decode(encode(event))
    assert len(str(info.value)) < 300


def test_a_dead_letter_keeps_whatever_key_its_record_had() -> None:
    letter = DeadLetter(
        event_id="-/dlq:t:0/1", session_id="", seq=1, event_time_ms=0, source_topic="t", source_partition=0,
        source_offset=1, reason="bad",
    )  # fmt: skip
    assert decode(encode(letter)) == letter


def test_every_event_type_is_fuzzed() -> None:
    assert {t.__struct_config__.tag for t in Event.__subclasses__()} <= set(TAGS)
