"""Event types, their wire codec and the topics they travel on."""

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
