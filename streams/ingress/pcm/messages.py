"""The PCM WebSocket protocol, for browsers and SDKs: binary PCM in, outputs pushed back.

Client -> server:
- text `{"type": "start", "label"?: str, "metadata"?: {str: str}, "encoding"?: "s16le",
  "sample_rate"?: 16000, "channels"?: 1}` first, once;
- binary frames: 16 kHz mono signed 16-bit little-endian PCM, any even length;
- text `{"type": "text", "text": str}` (a chat line at the session clock);
- text `{"type": "mark", "name": str}` echoing a mark once the audio before it was played
  (optional: a client that never echoes gets a `clear` whenever the model stops speaking);
- text `{"type": "sensitive", "on": bool}` opening (true) or closing (false) a sensitive window:
  the audio received while it is open is stored as silence, its chunks flagged `masked` (it also
  closes by itself after the configured window time);
- text `{"type": "stop"}` at the end.

Server -> client:
- `{"type": "started", "session_id": str}`: the id the server assigned to this call's session;
- per turn `{"type": "output", "turn", "action", "text", "delegate", "final", "audio": bool}`;
  when `audio` is true it is followed by one binary frame (3200 samples of 16 kHz s16le) and
  `{"type": "mark", "name": "turn-<k>"}`;
- `{"type": "clear", "at_turn", "turns", "audio_ms"}`: drop the model audio not played yet;
- `{"type": "ended", "reason", "detail"}` just before the server closes the socket.

Session ids are assigned by the server ("ws-<32 hex>"), one per connection, and a connection
only ever sees and ends its own session: a client can neither pick the id of a session another
producer is using nor attach to one. A start message carrying `session_id` is refused (close
1008, nothing published); a client's own reference for the call goes in `label` (recorded in
SessionStarted.metadata["label"]). (Before this change the client could choose the id.)
"""

from __future__ import annotations

import re

import msgspec

from schemas import ModelOutput
from streams.ingress.errors import ProtocolError
from streams.ingress.playback import Cut

LABEL = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""What a client's label for its call may look like."""


class Start(msgspec.Struct, frozen=True, tag="start", tag_field="type"):
    session_id: str | None = None
    """Refused when present: session ids are assigned by the server (kept to say so clearly)."""
    label: str = ""
    """The client's own reference for the call, copied into SessionStarted.metadata["label"]."""
    metadata: dict[str, str] = {}
    """Free-form call metadata, copied into SessionStarted.metadata."""
    encoding: str = "s16le"
    sample_rate: int = 16_000
    channels: int = 1


class Text(msgspec.Struct, frozen=True, tag="text", tag_field="type"):
    text: str


class Mark(msgspec.Struct, frozen=True, tag="mark", tag_field="type"):
    name: str


class Stop(msgspec.Struct, frozen=True, tag="stop", tag_field="type"):
    pass


class Sensitive(msgspec.Struct, frozen=True, tag="sensitive", tag_field="type"):
    on: bool
    """True opens a sensitive window, false closes it."""


Inbound = Start | Text | Mark | Stop | Sensitive
_decoder = msgspec.json.Decoder(Inbound)


def parse(raw: str) -> Inbound:
    """The client message in one text frame; ProtocolError when it is not one."""
    try:
        message: Inbound = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f'expected a JSON message with a known "type"; {exc} in {raw[:80]!r}') from exc
    return message


def _encode(message: dict[str, object]) -> str:
    return msgspec.json.encode(message).decode()


def started(session_id: str) -> str:
    return _encode({"type": "started", "session_id": session_id})


def output(out: ModelOutput, audio: bool) -> str:
    return _encode(
        {
            "type": "output",
            "turn": out.seq,
            "action": out.action,
            "text": out.text,
            "delegate": out.delegate,
            "final": out.final,
            "audio": audio,
        }
    )


def mark(name: str) -> str:
    return _encode({"type": "mark", "name": name})


def clear(cut: Cut) -> str:
    return _encode({"type": "clear", "at_turn": cut.at_turn, "turns": list(cut.turns), "audio_ms": cut.audio_ms})


def ended(reason: str, detail: str) -> str:
    return _encode({"type": "ended", "reason": reason, "detail": detail})
