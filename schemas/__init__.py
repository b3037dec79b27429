"""Event types, their wire codec and the topics they travel on.

The names below are imported on first use (PEP 562): `schemas.errors`, `schemas.ids` and
`schemas.clock` are read by every command line start-up and by the query path, which do not
need msgspec (whose import, with typing_extensions, costs 40-60 ms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy import lazy_exports

if TYPE_CHECKING:
    from schemas.codec import decode, encode
    from schemas.envelope import Event, event_id
    from schemas.errors import DecodeError, SchemaError
    from schemas.events import (
        ACTIONS,
        AudioChunk,
        BackgroundResult,
        BackgroundTask,
        DeadLetter,
        MicroTurn,
        ModelOutput,
        Playback,
        SessionEnded,
        SessionStarted,
        TextEvent,
        VideoFrame,
    )
    from schemas.topics import Topics

__all__ = [
    "ACTIONS",
    "AudioChunk",
    "BackgroundResult",
    "BackgroundTask",
    "DeadLetter",
    "DecodeError",
    "Event",
    "MicroTurn",
    "ModelOutput",
    "Playback",
    "SchemaError",
    "SessionEnded",
    "SessionStarted",
    "TextEvent",
    "Topics",
    "VideoFrame",
    "decode",
    "encode",
    "event_id",
]

_HOME = {
    "decode": "codec",
    "encode": "codec",
    "Event": "envelope",
    "event_id": "envelope",
    "DecodeError": "errors",
    "SchemaError": "errors",
    "Topics": "topics",
    **{
        name: "events"
        for name in (
            "ACTIONS",
            "AudioChunk",
            "BackgroundResult",
            "BackgroundTask",
            "DeadLetter",
            "MicroTurn",
            "ModelOutput",
            "Playback",
            "SessionEnded",
            "SessionStarted",
            "TextEvent",
            "VideoFrame",
        )
    },
}


__getattr__ = lazy_exports(__name__, _HOME)
