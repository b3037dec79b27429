"""Turning a record that cannot be processed into a DeadLetter event."""

from __future__ import annotations

from schemas import DeadLetter
from schemas.envelope import Stamper


def dead_letter(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, reason: str, producer: str
) -> DeadLetter:
    """The DeadLetter for the record at topic[partition]@offset, keyed like its source."""
    session_id = key.decode(errors="replace") if key else ""
    envelope = Stamper(producer, session_id or "-").stamp(f"dlq:{topic}:{partition}", offset, 0, None)
    return DeadLetter(
        **{**envelope, "session_id": session_id},
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        reason=f"{topic}[{partition}]@{offset}: {reason}",
        raw_key=key,
        raw_value=value,
    )
