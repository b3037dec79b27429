"""Reading signed chain heads back from the records of the compacted audit topic.

Fetching the records is the caller's business (the archiver and the verifier each read the topic
their own way); this module only decides which heads count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from schemas.audit.errors import HeadError
from schemas.audit.heads import ChainHead, check, decode_head
from schemas.audit.keys import VerifyKey

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HeadRecord:
    """One record of the audit topic, in the topic's offset order."""

    value: bytes | None
    """The record's value (None or empty: a tombstone)."""
    where: str
    """topic[partition]@offset, for findings and logs."""


def latest_heads(records: Iterable[HeadRecord], key: VerifyKey | None = None) -> dict[str, ChainHead]:
    """The latest head per session among `records`.

    With `key`, heads whose signature does not verify are skipped and logged, never returned.
    The latest by offset wins, as compaction keeps it.
    """
    heads: dict[str, ChainHead] = {}
    for record in records:
        if not record.value:
            continue  # a tombstone
        try:
            head = decode_head(record.value)
            if key is not None:
                check(head, key)
        except HeadError as exc:
            log.warning("chain_head_skipped", where=record.where, reason=str(exc))
            continue
        heads[head.session_id] = head
    return heads
