"""The binary wire codec: MessagePack with raw bytes payloads, never base64 or JSON.

Encoders and decoders are built once at import; the hot path is one call each way.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from schemas.envelope import SCHEMA_VERSION, Event
from schemas.errors import DecodeError
from schemas.events import ANY_EVENT, DeadLetter
from schemas.ids import is_session_id, shown

E = TypeVar("E", bound=Event)

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[ANY_EVENT] = msgspec.msgpack.Decoder(ANY_EVENT)


def encode(event: Event) -> bytes:
    """The wire bytes of `event`."""
    return _encoder.encode(event)


def decode(data: bytes) -> ANY_EVENT:
    """The event in `data`; raises DecodeError naming what was expected and what arrived."""
    try:
        event = _decoder.decode(data)
    except (
        msgspec.DecodeError,
        UnicodeDecodeError,
    ) as exc:  # msgspec lets invalid UTF-8 in a str through as the latter
        preview = data[:24].hex(" ")
        raise DecodeError(
            f"expected a microturn event (MessagePack map with a 'schema' tag); got {len(data)} "
            f"bytes starting {preview!r}: {exc}"
        ) from exc
    if event.schema_version > SCHEMA_VERSION:
        raise DecodeError(
            f"expected schema_version <= {SCHEMA_VERSION} for {type(event).__name__}; got "
            f"{event.schema_version}: upgrade microturn to read this event"
        )
    if not is_session_id(event.session_id) and not isinstance(event, DeadLetter):
        # A dead letter keeps the key of the record it rejected, whatever that was.
        raise DecodeError(
            "expected a session id of 1-128 characters from [A-Za-z0-9._:-] in "
            f"{type(event).__name__} {shown(event.event_id, 80)}; got {shown(event.session_id, 80)}"
        )
    return event


def decode_as(data: bytes, kind: type[E]) -> E:
    """Decode `data` and check it is a `kind`; raises DecodeError otherwise."""
    event = decode(data)
    if not isinstance(event, kind):
        raise DecodeError(f"expected a {kind.__name__} event; got a {type(event).__name__}")
    return event


def session_key(session_id: str) -> bytes:
    """The Kafka message key of every event of `session_id`."""
    return session_id.encode()
