"""Turning a record that cannot be processed into a DeadLetter event."""

from __future__ import annotations

import time

from schemas import DeadLetter, event_id


def dead_letter(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, reason: str, producer: str
) -> DeadLetter:
    """The DeadLetter for the record at topic[partition]@offset, keyed like its source."""
    session_id = key.decode(errors="replace") if key else ""
    return DeadLetter(
        event_id=event_id(session_id or "-", f"dlq:{topic}:{partition}", offset),
        session_id=session_id,
        seq=offset,
        event_time_ms=0,
        wall_time_ns=time.time_ns(),
        producer=producer,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        reason=f"{topic}[{partition}]@{offset}: {reason}",
        raw_key=key,
        raw_value=value,
    )
