"""The envelope every microturn event carries, and how event ids are made."""

from __future__ import annotations

import time
from typing import Any, TypeVar

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
    encrypted: bytes = b""
    """The event's payload fields, encrypted with its session's data key (`schemas.encryption`);
    empty for an event in the clear. While set, those fields hold their empty values."""


E = TypeVar("E", bound=Event)


class Stamper:
    """The one way to make an event's envelope, for the events one producer writes.

    - `stamp` makes the envelope of an event that starts at this producer (a media chunk, a text
      line, a dead letter): the deterministic id from (session, stream, seq), and the wall time.
    - `derive` makes an event from the event it answers (a MicroTurn's output, the task it
      delegates, a task's result): the source's session, seq, event time and turn, the id of
      `stream` for that seq, the wall time of the call and this producer.

    `session_id` is only needed by `stamp`: `derive` takes the session from its source.
    """

    def __init__(self, producer: str, session_id: str = "") -> None:
        self.producer = producer
        self.session_id = session_id

    def stamp(
        self, stream: str, seq: int, time_ms: int, turn: int | None, wall_time_ns: int | None = None
    ) -> dict[str, Any]:
        """Envelope keyword arguments for every event type; `wall_time_ns` defaults to now."""
        return {
            "event_id": event_id(self.session_id, stream, seq),
            "session_id": self.session_id,
            "seq": seq,
            "event_time_ms": time_ms,
            "turn": turn,
            "wall_time_ns": time.time_ns() if wall_time_ns is None else wall_time_ns,
            "producer": self.producer,
        }

    def derive(self, kind: type[E], source: Event, stream: str, **fields: Any) -> E:
        """The `kind` event answering `source`, with `fields` as its payload."""
        return kind(
            event_id=event_id(source.session_id, stream, source.seq),
            session_id=source.session_id,
            seq=source.seq,
            event_time_ms=source.event_time_ms,
            turn=source.turn,
            wall_time_ns=time.time_ns(),
            producer=self.producer,
            **fields,
        )
