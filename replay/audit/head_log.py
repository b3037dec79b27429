"""Reading signed chain heads back from the compacted audit topic."""

from __future__ import annotations

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord

from replay.audit.errors import AuditError, HeadError
from replay.audit.heads import ChainHead, check, decode_head
from replay.audit.keys import VerifyKey

log = structlog.get_logger(__name__)


async def latest_heads(
    bootstrap: str, topic: str, key: VerifyKey | None = None, session_id: str | None = None
) -> dict[str, ChainHead]:
    """The latest head per session on `topic` (reading only `session_id`'s partition when given).

    With `key`, heads whose signature does not verify are skipped and logged, never returned.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        partitions = consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
        if session_id is not None:
            wanted = session_id.encode()
            ordered = sorted(partitions)
            partitions = {DefaultPartitioner()(wanted, ordered, ordered)}
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        heads: dict[str, ChainHead] = {}
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    _keep(heads, record, key, session_id)
        return heads
    except KafkaError as exc:
        raise AuditError(f"reading chain heads from {topic}: {exc}; is Kafka up (`microturn up`)?") from exc
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    if topic not in await consumer.topics():
        raise AuditError(f"the audit topic {topic} does not exist: run `microturn up` (it creates the topics)")
    return consumer.partitions_for_topic(topic) or set()


def _keep(
    heads: dict[str, ChainHead], record: ConsumerRecord[bytes, bytes], key: VerifyKey | None, session_id: str | None
) -> None:
    if record.value is None:
        return  # a tombstone
    try:
        head = decode_head(record.value)
        if key is not None:
            check(head, key)
    except HeadError as exc:
        log.warning("chain_head_skipped", topic=record.topic, partition=record.partition, offset=record.offset,
                    reason=str(exc))
        return
    if session_id is None or head.session_id == session_id:
        heads[head.session_id] = head  # the latest by offset wins, as compaction keeps it
