"""Tampering with a real audit topic without disturbing the shared archive's own topic.

`copy_audit_topic` copies every record of the archive's audit topic (same keys, same partitions)
onto a fresh topic prefix; tests then publish forged or stale heads there and point
`audit verify --topic-prefix` at it.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from infra.topics import ensure_topics
from schemas import Topics
from streams.log import read_topics
from tests.conftest import unique_prefix


async def audit_records(bootstrap: str, prefix: str, session_id: str) -> list[tuple[int, bytes]]:
    """(partition, value) of every record of `session_id` on `<prefix>.audit`, in offset order."""
    topics = Topics(prefix)
    return [(r.partition, r.value) for r in await read_topics(bootstrap, [topics.audit], topics.partitions, session_id)]


async def publish(bootstrap: str, prefix: str, session_id: str, values: list[bytes], partition: int) -> None:
    """Publish `values` keyed by `session_id` on `<prefix>.audit` at `partition`, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(Topics(prefix).audit, value, key=session_id.encode(), partition=partition)
    finally:
        await producer.stop()


async def copy_audit_topic(bootstrap: str, prefix: str, only: list[bytes] | None = None) -> str:
    """A new prefix whose audit topic holds the records of `<prefix>.audit` (or only the values in `only`)."""
    new = unique_prefix("audit-copy")
    await asyncio.to_thread(ensure_topics, bootstrap, Topics(new))
    topics = Topics(prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for r in await read_topics(bootstrap, [topics.audit], topics.partitions):
            if only is None or r.value in only:
                await producer.send_and_wait(Topics(new).audit, r.value, key=r.key, partition=r.partition)
    finally:
        await producer.stop()
    return new
