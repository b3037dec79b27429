"""The archive's tables: one per event type, their Arrow schemas derived from the msgspec events.

The event columns come from `schemas.arrow` (derived from the msgspec definitions, so adding a
field to an event adds a column).
Every table holds, in this order:

- the event's fields, envelope first (`event_id, session_id, seq, event_time_ms, turn, ...`);
- derived analytics columns that are *not* part of the event (the RMS energy of audio payloads,
  so reports never read the audio itself);
- the archive's columns: where the record came from (`kafka_topic, kafka_partition,
  kafka_offset, kafka_timestamp_ms`) and its place in the session's audit chain (`audit_seq,
  audit_digest, audit_link, audit_prev_event_id`; see `schemas.audit.chain`).

`TableSpec.event_from_row` undoes the mapping, and `TableSpec.canonical` gives the bytes the
audit chain hashes: the wire bytes, for events of this schema version.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi
import numpy as np
import pyarrow as pa

from processors.archiver.errors import ArchiveLayoutError
from schemas import (
    AudioChunk,
    BackgroundResult,
    BackgroundTask,
    DeadLetter,
    Event,
    MicroTurn,
    ModelOutput,
    Playback,
    SessionEnded,
    SessionStarted,
    TextEvent,
    VideoFrame,
)
from schemas import arrow as schemas_arrow
from schemas.errors import ArrowMappingError

ARCHIVE_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("kafka_topic", pa.string(), nullable=False),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("kafka_timestamp_ms", pa.int64(), nullable=False),
    pa.field("audit_seq", pa.int64(), nullable=False),
    pa.field("audit_digest", pa.binary(32), nullable=False),
    pa.field("audit_link", pa.binary(32), nullable=False),
    pa.field("audit_prev_event_id", pa.string(), nullable=False),
)
"""Columns the archive adds to every table, after the event's own and the derived ones."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The range of the archive's integer columns."""


def arrow_type(t: mi.Type, where: str) -> tuple[pa.DataType, bool]:
    """`schemas.arrow.arrow_type`, raising the archive's layout error."""
    try:
        return schemas_arrow.arrow_type(t, where)
    except ArrowMappingError as exc:
        raise ArchiveLayoutError(str(exc)) from exc


def _rms(samples: bytes) -> float:
    if len(samples) < 2:
        return 0.0
    pcm = np.frombuffer(samples, dtype="<i2", count=len(samples) // 2).astype(np.float32)
    return math.sqrt(float(np.dot(pcm, pcm)) / len(pcm)) / 32768.0


DERIVED: dict[type[Event], tuple[tuple[str, Callable[[Any], float]], ...]] = {
    AudioChunk: (("rms", lambda e: _rms(e.samples[: 2 * e.valid_samples])),),
    ModelOutput: (("audio_rms", lambda e: _rms(e.audio)),),
}
"""Per event type: analytics columns computed from the event at archive time (float32, 0..1)."""


@dataclass(frozen=True)
class TableSpec:
    """One archive table: its name (the event's schema tag), event type and Arrow schema."""

    name: str
    """The event's `schema` tag, e.g. "audio_chunk"; also the table's folder under the archive root."""
    event_type: type[Event]
    """The msgspec Struct archived in this table."""
    event_fields: tuple[str, ...]
    """The event's fields, in column order (envelope first)."""
    derived: tuple[tuple[str, Callable[[Any], float]], ...]
    """Derived columns and how each is computed from the event."""
    schema: pa.Schema
    """Event fields, derived columns, then ARCHIVE_COLUMNS."""
    map_fields: frozenset[str]
    """Event fields stored as Arrow maps (read back as lists of pairs)."""
    int_fields: tuple[str, ...] = ()
    """Event fields stored as int64 (Python ints on the wire may be larger: msgpack carries uint64)."""
    int_list_fields: tuple[str, ...] = ()
    """Event fields stored as lists of int64 (each element is checked like an int field)."""

    @property
    def fingerprint(self) -> str:
        """8 hex digits naming the schema; part of every file name, so readers see when schemas differ."""
        return hashlib.sha256(self.schema.to_string(show_schema_metadata=False).encode()).hexdigest()[:8]

    @property
    def binary_columns(self) -> tuple[str, ...]:
        """Payload columns (raw bytes): never dictionary-encoded."""
        return tuple(f.name for f in self.schema if pa.types.is_binary(f.type) or pa.types.is_fixed_size_binary(f.type))

    def unwritable(self, event: Event) -> str | None:
        """Why the archive cannot hold `event` (naming the field, what fits and what arrived); None if it can.

        Called for every event before it is chained; the checks are the ones Arrow would fail at
        commit time, when it is too late to leave the event out.
        """
        for name in self.int_fields:
            value = getattr(event, name)
            if value is not None and not INT64_MIN <= value <= INT64_MAX:
                return f"field {name} must fit int64 ({INT64_MIN}..{INT64_MAX}); got {value}"
        for name in self.int_list_fields:
            for value in getattr(event, name) or ():
                if not INT64_MIN <= value <= INT64_MAX:
                    return f"every element of field {name} must fit int64 ({INT64_MIN}..{INT64_MAX}); got {value}"
        return None

    def event_from_row(self, row: Mapping[str, Any]) -> Event:
        """The event an archived row holds; msgspec.ValidationError if the row cannot be one.

        Fields missing from the row (a file written before they were added) take their defaults.
        """
        values = {name: row[name] for name in self.event_fields if name in row}
        for name in self.map_fields & values.keys():
            values[name] = dict(values[name] or ())
        event: Event = msgspec.convert(values, self.event_type)
        return event

    def canonical(self, row: Mapping[str, Any]) -> bytes:
        """The canonical bytes of the event in `row`, as its session's audit chain hashes them.

        MessagePack of the event with the fields the row has, in wire order: for a row of this
        schema version that is exactly `schemas.encode(event)`, the wire bytes the archiver hashed;
        for a row of a file written before a field was added, the field is left out, as it was
        when that event was hashed. msgspec.ValidationError if the row cannot be an event.
        """
        event = msgspec.structs.asdict(self.event_from_row(row))
        config = self.event_type.__struct_config__
        fields = [name for name in self.event_type.__struct_fields__ if name in row]
        return _encoder.encode({config.tag_field: config.tag, **{name: event[name] for name in fields}})


_encoder = msgspec.msgpack.Encoder()


def _spec(event_type: type[Event]) -> TableSpec:
    try:
        tag, fields = schemas_arrow.event_fields(event_type)
    except ArrowMappingError as exc:
        raise ArchiveLayoutError(f"archiving {event_type.__name__}: {exc}") from exc
    order = [f.name for f in fields]
    derived = DERIVED.get(event_type, ())
    fields += [pa.field(name, pa.float32(), nullable=False) for name, _ in derived]
    maps = frozenset(f.name for f in fields if pa.types.is_map(f.type))
    ints = tuple(f.name for f in fields if f.name in order and f.type == pa.int64())
    int_lists = tuple(
        f.name
        for f in fields
        if f.name in order and pa.types.is_list(f.type) and f.type.value_type == pa.int64()  # type: ignore[attr-defined]
    )
    schema = pa.schema([*fields, *ARCHIVE_COLUMNS])
    return TableSpec(tag, event_type, tuple(order), derived, schema, maps, ints, int_lists)


_EVENT_TYPES: tuple[type[Event], ...] = (
    SessionStarted,
    SessionEnded,
    AudioChunk,
    VideoFrame,
    TextEvent,
    MicroTurn,
    ModelOutput,
    BackgroundTask,
    BackgroundResult,
    DeadLetter,
    Playback,
)
TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (_spec(t) for t in _EVENT_TYPES)}
"""Every archive table by name (the event's schema tag)."""

TABLE_OF: dict[type[Event], TableSpec] = {spec.event_type: spec for spec in TABLES.values()}
"""The table each event type is archived in."""
