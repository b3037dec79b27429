"""The Twilio Media Streams wire protocol (bidirectional `<Connect><Stream>`), as typed messages.

From Twilio: `connected`, `start`, `media`, `dtmf`, `mark`, `stop`. To Twilio: `media`, `mark`,
`clear`. Field names follow Twilio's camelCase on the wire and snake_case here; numbers that
Twilio sends as strings (`sequenceNumber`, `media.timestamp`, `media.chunk`) stay strings in the
structs and are parsed by the properties that use them.

`parse` is strict about the events it knows (a missing or ill-typed field is a ProtocolError)
and lenient about events it does not (returned as `Unknown`, so a protocol extension does not
end calls).
"""

from __future__ import annotations

import msgspec

from streams.ingress.errors import ProtocolError


class _Message(msgspec.Struct, frozen=True, kw_only=True, rename="camel", tag_field="event"):
    sequence_number: str = ""
    """Position of the message in the stream, counting from "1" at `start` (absent on `connected`)."""
    stream_sid: str = ""
    """The stream's id; the session id (absent on `connected`)."""

    @property
    def sequence(self) -> int:
        """`sequence_number` as an int; ProtocolError if it is not one."""
        return _int(self.sequence_number, "sequenceNumber", type(self).__name__)


class Connected(_Message, frozen=True, tag="connected"):
    protocol: str = ""
    """"Call"."""
    version: str = ""
    """Protocol version, e.g. "1.0.0"."""


class MediaFormat(msgspec.Struct, frozen=True, rename="camel"):
    encoding: str
    """"audio/x-mulaw" for telephone streams."""
    sample_rate: int
    """8000."""
    channels: int
    """1."""


class StartInfo(msgspec.Struct, frozen=True, rename="camel"):
    stream_sid: str
    account_sid: str = ""
    call_sid: str = ""
    tracks: list[str] = []
    """"inbound" for a bidirectional stream."""
    custom_parameters: dict[str, str] = {}
    """The `<Parameter>`s of the TwiML `<Stream>`."""
    media_format: MediaFormat | None = None


class Start(_Message, frozen=True, tag="start"):
    start: StartInfo


class MediaInfo(msgspec.Struct, frozen=True):
    payload: str
    """Base64 of the mu-law bytes (160 per 20 ms frame)."""
    timestamp: str
    """Milliseconds of media from the stream's start, as a string."""
    chunk: str = ""
    """Media message counter from "1", as a string."""
    track: str = "inbound"
    """"inbound" (the caller)."""

    def timestamp_ms(self) -> int:
        return _int(self.timestamp, "media.timestamp", "Media")


class Media(_Message, frozen=True, tag="media"):
    media: MediaInfo


class DtmfInfo(msgspec.Struct, frozen=True):
    digit: str
    track: str = "inbound_track"


class Dtmf(_Message, frozen=True, tag="dtmf"):
    dtmf: DtmfInfo


class MarkInfo(msgspec.Struct, frozen=True):
    name: str


class Mark(_Message, frozen=True, tag="mark"):
    mark: MarkInfo


class StopInfo(msgspec.Struct, frozen=True, rename="camel"):
    account_sid: str = ""
    call_sid: str = ""


class Stop(_Message, frozen=True, tag="stop"):
    stop: StopInfo = StopInfo()


class Unknown(msgspec.Struct, frozen=True):
    """An event this server does not know; ignored (logged by the caller)."""

    event: str


Inbound = Connected | Start | Media | Dtmf | Mark | Stop
"""Every message Twilio sends."""

_KNOWN = {"connected": Connected, "start": Start, "media": Media, "dtmf": Dtmf, "mark": Mark, "stop": Stop}


class _Kind(msgspec.Struct):
    event: str


_kind = msgspec.json.Decoder(_Kind)
_decoder = msgspec.json.Decoder(Inbound)


def parse(raw: str | bytes) -> Inbound | Unknown:
    """The message in one WebSocket text frame; ProtocolError when it is not a valid one.

    A known event is decoded once, straight into its struct (the hot path: 50 media messages a
    second per call); only a frame that does not decode as one is looked at again, to tell an
    unknown event (returned as `Unknown`) from a broken known one.
    """
    try:
        message: Inbound = _decoder.decode(raw)
    except msgspec.DecodeError as exc:  # ValidationError is a subclass
        try:
            event: str | None = _kind.decode(raw).event
        except msgspec.DecodeError:
            event = None
        if event is not None and event not in _KNOWN:
            return Unknown(event)
        shown = raw[:80] if isinstance(raw, str) else raw[:80].decode(errors="replace")
        raise ProtocolError(f"expected a Twilio Media Streams JSON message; {exc} in {shown!r}") from exc
    return message


def media(stream_sid: str, payload_b64: str) -> str:
    """A `media` message to Twilio: base64 mu-law to append to the call's playback buffer."""
    return _encode({"event": "media", "streamSid": stream_sid, "media": {"payload": payload_b64}})


def mark(stream_sid: str, name: str) -> str:
    """A `mark` message to Twilio: echoed back once the audio queued before it has played."""
    return _encode({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    """A `clear` message to Twilio: drop the unplayed audio (its marks are echoed back)."""
    return _encode({"event": "clear", "streamSid": stream_sid})


def _encode(message: dict[str, object]) -> str:
    return msgspec.json.encode(message).decode()


def _int(value: str, field: str, event: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ProtocolError(f"{event} message: expected {field} to be a decimal number; got {value!r}") from None
