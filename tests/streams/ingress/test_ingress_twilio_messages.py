"""Parsing Twilio Media Streams messages: strict for known events, lenient for unknown ones."""

from __future__ import annotations

import json

import pytest

from streams.ingress.errors import ProtocolError
from streams.ingress.twilio import messages


def test_a_start_message_with_its_metadata_parses() -> None:
    raw = json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": "MZ1",
            "start": {
                "streamSid": "MZ1",
                "accountSid": "AC1",
                "callSid": "CA1",
                "tracks": ["inbound"],
                "customParameters": {"k": "v"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )
    start = messages.parse(raw)
    assert isinstance(start, messages.Start)
    assert start.start.call_sid == "CA1" and start.start.custom_parameters == {"k": "v"}
    assert start.start.media_format == messages.MediaFormat("audio/x-mulaw", 8000, 1)
    assert start.sequence == 1


def test_media_timestamps_are_parsed_from_their_strings() -> None:
    raw = json.dumps(
        {
            "event": "media",
            "sequenceNumber": "3",
            "streamSid": "MZ1",
            "media": {"track": "inbound", "chunk": "2", "timestamp": "40", "payload": "/w=="},
        }
    )
    media = messages.parse(raw)
    assert isinstance(media, messages.Media) and media.media.timestamp_ms() == 40


def test_unknown_events_are_returned_for_the_caller_to_ignore() -> None:
    assert messages.parse('{"event":"somethingNew","x":1}') == messages.Unknown("somethingNew")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "Expected `object`"),
        ('{"event": "media", "sequenceNumber": "2"}', "missing required field `media`"),
        ('{"event": "media", "media": {"payload": 5, "timestamp": "0"}}', "$.media.payload"),
        ('{"no_event": true}', "missing required field `event`"),
    ],
)
def test_malformed_messages_are_protocol_errors_saying_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(ProtocolError, match="expected a Twilio Media Streams JSON message") as caught:
        messages.parse(raw)
    assert says in str(caught.value)


def test_a_non_numeric_timestamp_is_a_protocol_error() -> None:
    media = messages.parse('{"event":"media","sequenceNumber":"2","media":{"payload":"","timestamp":"soon"}}')
    assert isinstance(media, messages.Media)
    with pytest.raises(ProtocolError, match=r"media\.timestamp to be a decimal number"):
        media.media.timestamp_ms()


def test_outgoing_messages_are_what_twilio_expects() -> None:
    sid = {"streamSid": "MZ1"}
    assert json.loads(messages.media("MZ1", "AAA=")) == {"event": "media", **sid, "media": {"payload": "AAA="}}
    assert json.loads(messages.mark("MZ1", "turn-3")) == {"event": "mark", **sid, "mark": {"name": "turn-3"}}
    assert json.loads(messages.clear("MZ1")) == {"event": "clear", "streamSid": "MZ1"}
