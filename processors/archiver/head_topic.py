"""Reading the audit topic's records back, from its beginning to its end at the time of the call.

The archiver reads them once at start-up to resume its chains (`schemas.audit.head_log` decides
which heads count); it never reads the audit topic afterwards, since it is the only writer.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.archiver.errors import ArchiveError
from processors.archiver.partitions import topic_partitions
from schemas.audit import HeadRecord
from streams.kafka_security import aiokafka_options


async def read_head_records(bootstrap: str, topic: str) -> list[HeadRecord]:
    """Every record of `topic` up to its end offsets now, per partition in offset order."""
    assigned: list[TopicPartition] = await topic_partitions(bootstrap, [topic], "reading chain heads")
    # No group, so no committed offsets: "earliest" starts every partition at its beginning.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", **aiokafka_options()
    )
    out: list[HeadRecord] = []
    try:
        await consumer.start()
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        remaining = {tp for tp in assigned if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                out.extend(
                    HeadRecord(r.key, r.value, f"{tp.topic}[{tp.partition}]@{r.offset}")
                    for r in records
                    if r.offset < ends[tp]
                )
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    except KafkaError as exc:
        raise ArchiveError(f"reading chain heads from {topic} on {bootstrap} failed: {exc}") from exc
    finally:
        await consumer.stop()
    return out
