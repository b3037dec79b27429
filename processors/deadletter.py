"""Turning a record that cannot be processed into a DeadLetter event.

The record's value and the reason (which may quote it) pass the redactor first: a dead letter
keeps what arrived, less what must never be stored (card numbers, e-mail addresses, ...).
"""

from __future__ import annotations

from schemas import DeadLetter
from schemas.envelope import Stamper
from streams import metrics
from streams.redaction import Redactor

_DEFAULT = Redactor()


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    producer: str,
    redactor: Redactor | None = None,
) -> DeadLetter:
    """The DeadLetter for the record at topic[partition]@offset, keyed like its source; its value
    and reason redacted by `redactor` (None: the default rules)."""
    redactor = redactor or _DEFAULT
    said = redactor.redact(reason)
    metrics.redacted("dead_letter", said.counts)
    if value is not None:
        kept = redactor.raw(value)
        if kept != value:
            metrics.redacted("dead_letter", {"raw_value": 1})
        value = kept
    session_id = key.decode(errors="replace") if key else ""
    envelope = Stamper(producer, session_id or "-").stamp(f"dlq:{topic}:{partition}", offset, 0, None)
    return DeadLetter(
        **{**envelope, "session_id": session_id},
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        reason=f"{topic}[{partition}]@{offset}: {said.text}",
        raw_key=key,
        raw_value=value,
    )
