"""The envelope every microturn event carries, and how event ids are made."""

from __future__ import annotations

import time
from typing import Any

import msgspec

SCHEMA_VERSION = 1
"""Version of the wire schema written by this code. Readers accept this version and older ones."""


def event_id(session_id: str, stream: str, seq: int) -> str:
    """The deterministic id of the `seq`-th event of `stream` in `session_id`.

    The same input always yields the same id, so a re-sent event is recognisable as a duplicate.
    """
    return f"{session_id}/{stream}/{seq}"


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="schema"):
    """Fields shared by every event. Concrete events subclass this with a `tag` (the schema name)."""

    event_id: str
    """Deterministic id from (session, stream, sequence number); see `event_id()`."""
    session_id: str
    """The session this event belongs to; also the Kafka message key."""
    seq: int
    """Sequence number of this event within its (session, stream), from 0."""
    event_time_ms: int
    """Position on the session clock (media time from the session's start), in milliseconds."""
    turn: int | None = None
    """The micro-turn this event belongs to, where known at production time."""
    wall_time_ns: int = 0
    """Wall-clock time of production (ns since the epoch); for latency measurement only."""
    producer: str = ""
    """Who produced the event (e.g. "stream:host:pid", "worker:interaction")."""
    schema_version: int = SCHEMA_VERSION
    """Version of the schema the producer wrote."""


class Stamper:
    """Envelope fields for the events one producer writes for one session.

    `stamp(stream, seq, time_ms, turn)` returns the keyword arguments every event type takes, with
    the deterministic event id and the wall time of the call.
    """

    def __init__(self, session_id: str, producer: str) -> None:
        self.session_id = session_id
        self.producer = producer

    def stamp(self, stream: str, seq: int, time_ms: int, turn: int | None) -> dict[str, Any]:
        return {
            "event_id": event_id(self.session_id, stream, seq),
            "session_id": self.session_id,
            "seq": seq,
            "event_time_ms": time_ms,
            "turn": turn,
            "wall_time_ns": time.time_ns(),
            "producer": self.producer,
        }
