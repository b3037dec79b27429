"""Audit chains of archived events, one per session, and their signed heads.

The archiver appends every event to its session's chain as it buffers it (so the event's
`audit_seq`, digest and link go into the same file as the event), seals the chains it touched
once the epoch's files are durable, and publishes those heads on the audit topic before it
commits the epoch's offsets to Kafka. See `schemas.audit.chain` for the canonical bytes and order.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from processors.archiver.errors import ArchiveError
from schemas.audit import Appended, Chain, ChainHead, SigningKey, encode_head, seal

log = structlog.get_logger(__name__)


class Sealer:
    """Keeps every session's chain state; seals the chains touched since the last seal.

    Chain states stay in memory (about 130 bytes per session plus 32 bytes per 64 events); a
    restarted archiver gets them back from the verified heads of the audit topic and the
    checkpoint (`resume`). Each sealed head names the hash of the session's previous head.
    """

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        """The key heads are signed with."""
        self._chains: dict[str, Chain] = {}
        self._last: dict[str, bytes] = {}
        self._touched: set[str] = set()

    def resume(self, heads: Iterable[ChainHead]) -> None:
        """Continue the chains of `heads`, already verified (later heads of a session replace earlier ones)."""
        for head in heads:
            self._chains[head.session_id] = head.chain()
            self._last[head.session_id] = head.hash()

    def supersede(self, heads: Iterable[ChainHead]) -> None:
        """Start new chains for the sessions of `heads` whose first heads supersede them (a new archive root)."""
        for head in heads:
            self._chains.pop(head.session_id, None)
            self._last[head.session_id] = head.hash()

    def append(self, session_id: str, event_id: str, canonical: bytes, *, ends: bool = False) -> Appended:
        """Append an event to its session's chain (`ends`: it is the SessionEnded); where it went."""
        chain = self._chains.get(session_id)
        if chain is None:
            chain = self._chains[session_id] = Chain()
        self._touched.add(session_id)
        return chain.append(event_id, canonical, ends=ends)

    def seal_touched(self) -> list[ChainHead]:
        """Signed heads of the sessions appended to since the last call, each chained to the one before."""
        heads = []
        for session_id in sorted(self._touched):
            head = seal(session_id, self._chains[session_id], self.key, self._last.get(session_id, b""))
            self._last[session_id] = head.hash()
            heads.append(head)
        self._touched.clear()
        return heads


async def publish_heads(producer: AIOKafkaProducer, topic: str, heads: list[ChainHead]) -> None:
    """Publish `heads` keyed by session id and wait until the broker acknowledged all of them."""
    try:
        pending = [await producer.send(topic, key=h.session_id.encode(), value=encode_head(h)) for h in heads]
        for future in pending:
            await future
    except KafkaError as exc:
        raise ArchiveError(f"publishing {len(heads)} chain heads to {topic} failed: {exc}") from exc
    if heads:
        log.debug("chain_heads_published", topic=topic, heads=len(heads))
