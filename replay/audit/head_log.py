"""Reading signed chain heads back from the compacted audit topic."""

from __future__ import annotations

import structlog

from replay.audit.errors import AuditError, HeadError
from replay.audit.heads import ChainHead, check, decode_head
from replay.audit.keys import VerifyKey
from schemas import Topics
from streams.errors import TopicMissing
from streams.log import read_topics

log = structlog.get_logger(__name__)


async def latest_heads(
    bootstrap: str, topics: Topics, key: VerifyKey | None = None, session_id: str | None = None
) -> dict[str, ChainHead]:
    """The latest head per session on the audit topic (only `session_id`'s when given).

    With `key`, heads whose signature does not verify are skipped and logged, never returned.
    The latest by offset wins, as compaction keeps it.
    """
    try:
        records = await read_topics(bootstrap, [topics.audit], topics.partitions, session_id)
    except TopicMissing as exc:
        raise AuditError(f"reading chain heads from {topics.audit}: {exc}") from exc
    heads: dict[str, ChainHead] = {}
    for record in records:
        if not record.value:
            continue  # a tombstone
        try:
            head = decode_head(record.value)
            if key is not None:
                check(head, key)
        except HeadError as exc:
            log.warning(
                "chain_head_skipped",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                reason=str(exc),
            )
            continue
        heads[head.session_id] = head
    return heads
