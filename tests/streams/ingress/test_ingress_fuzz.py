"""Hostile input to the Twilio and PCM message parsers: a message or the package's error, nothing else.

Property tests (hypothesis, bounded): arbitrary bytes and text, arbitrary JSON, and well-formed
messages with hostile field values. `parse` must return one of the protocol's message types or
raise `ProtocolError` (an `IngressError`); any other exception is a finding.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ingress.errors import ProtocolError
from streams.ingress.pcm import messages as pcm
from streams.ingress.twilio import messages as twilio
from streams.ingress.twilio.audio import InboundAudio

BOUNDED = settings(max_examples=200, deadline=None)

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_hostile = st.one_of(
    _json,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "\x00", "\u202e", "9" * 40, "../../etc", "\x1b[2J"]),
)
_TWILIO_TYPES = (twilio.Connected, twilio.Start, twilio.Media, twilio.Dtmf, twilio.Mark, twilio.Stop, twilio.Unknown)
_TWILIO_EVENTS = ["connected", "start", "media", "dtmf", "mark", "stop", "clear", "unknown", ""]
_PCM_TYPES = ["start", "text", "mark", "stop", "output", ""]


def _twilio_ok(raw: str | bytes) -> None:
    try:
        message = twilio.parse(raw)
    except ProtocolError:
        return
    assert isinstance(message, _TWILIO_TYPES)
    if isinstance(message, twilio.Media):  # the fields the call reads must parse or raise ProtocolError
        try:
            message.media.timestamp_ms()
            _ = message.sequence
        except ProtocolError:
            pass


def _pcm_ok(raw: str) -> None:
    try:
        message = pcm.parse(raw)
    except ProtocolError:
        return
    assert isinstance(message, pcm.Start | pcm.Text | pcm.Mark | pcm.Stop)


@BOUNDED
@given(st.binary(max_size=300))
def test_twilio_parse_takes_any_bytes(raw: bytes) -> None:
    _twilio_ok(raw)


@BOUNDED
@given(st.text(max_size=300))
def test_twilio_parse_takes_any_text(raw: str) -> None:
    _twilio_ok(raw)


@BOUNDED
@given(
    st.sampled_from(_TWILIO_EVENTS) | _hostile,
    st.dictionaries(
        st.sampled_from(["streamSid", "sequenceNumber", "media", "start", "mark", "dtmf", "stop", "extra"]),
        _hostile,
        max_size=5,
    ),
    st.dictionaries(
        st.sampled_from(["payload", "timestamp", "track", "chunk", "name", "digit", "streamSid", "mediaFormat"]),
        _hostile,
        max_size=5,
    ),
)
def test_twilio_parse_takes_hostile_fields(event: Any, fields: dict[str, Any], inner: dict[str, Any]) -> None:
    message: dict[str, Any] = {"event": event, **fields}
    if isinstance(event, str) and event in ("media", "start", "mark", "dtmf", "stop"):
        message[event] = inner
    _twilio_ok(json.dumps(message))


@BOUNDED
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace")))
def test_pcm_parse_takes_any_text(raw: str) -> None:
    _pcm_ok(raw)  # text frames are valid UTF-8, so any str without lone surrogates can arrive


@BOUNDED
@given(
    st.sampled_from(_PCM_TYPES) | _hostile,
    st.dictionaries(
        st.sampled_from(["session_id", "label", "metadata", "encoding", "sample_rate", "channels", "text", "name"]),
        _hostile,
        max_size=5,
    ),
)
def test_pcm_parse_takes_hostile_fields(kind: Any, fields: dict[str, Any]) -> None:
    _pcm_ok(json.dumps({"type": kind, **fields}))


@BOUNDED
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-(2**40), max_value=2**40),
            st.integers(min_value=-(2**40), max_value=2**40),
            st.text(max_size=400) | st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
        ),
        max_size=12,
    )
)
def test_twilio_media_payloads_and_timestamps_decode_or_raise_protocol_error(
    frames: list[tuple[int, int, str]],
) -> None:
    audio = InboundAudio(jitter_frames=3, max_gap_ms=5000, max_frame_samples=8000)
    for timestamp_ms, seq, payload in frames:
        try:
            out = audio.push(timestamp_ms, seq, payload)
        except ProtocolError:
            continue
        assert out.dtype == np.int16 and out.ndim == 1
    assert audio.flush().dtype == np.int16
