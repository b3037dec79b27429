"""`archive sync`: wait until the archiver has caught up with the log as it is now.

The end offsets of every archived partition are taken once, when the call starts; the call then
returns as soon as the archiver's consumer group has committed offsets at or beyond them. The
archiver commits only after an epoch's files are durable and its chain heads are published, so
on return everything produced before the call is in the archive and sealed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from processors.archiver.errors import ArchiveError, SyncTimeout
from processors.archiver.partitions import topic_partitions
from processors.archiver.settings import archiver_group
from schemas import Topics
from streams.kafka_security import aiokafka_options


async def _targets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, tuple[int, int]]:
    tps = await topic_partitions(bootstrap, topics, "archive sync")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **aiokafka_options())
    await consumer.start()
    try:
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        return {tp: (starts[tp], ends[tp]) for tp in tps}
    finally:
        await consumer.stop()


async def wait_synced(bootstrap: str, topics: Topics, timeout_s: float = 60.0, poll_s: float = 0.2) -> dict[str, Any]:
    """Wait until the archiver of `topics` committed the end offsets taken now; a summary of them.

    Raises SyncTimeout after `timeout_s`, naming the partitions still behind and by how much.
    """
    deadline = time.monotonic() + timeout_s
    names = [spec.name for spec in topics.specs() if spec.name != topics.audit]
    group = archiver_group(topics.prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **aiokafka_options())
    try:
        targets = await _targets(bootstrap, names)
        await admin.start()
        while True:
            try:
                committed = await admin.list_consumer_group_offsets(group)
            except KafkaError as exc:  # e.g. the group coordinator is still being elected
                if not exc.retriable or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(poll_s)
                continue
            behind = {
                tp: end - (committed[tp].offset if tp in committed else start)
                for tp, (start, end) in targets.items()
                if end > start and (tp not in committed or committed[tp].offset < end)
            }
            if not behind:
                ends: dict[str, int] = {}
                for tp, (_, end) in targets.items():
                    ends[tp.topic] = ends.get(tp.topic, 0) + end
                return {"group": group, "partitions": len(targets), "end_offsets": ends}
            if time.monotonic() >= deadline:
                lag = ", ".join(f"{tp.topic}[{tp.partition}] {n}" for tp, n in sorted(behind.items()))
                raise SyncTimeout(
                    f"archive sync: after {timeout_s:.0f}s the archiver (group {group}) is still "
                    f"behind: {lag} records; is it running (`microturn archive run`)?"
                )
            await asyncio.sleep(poll_s)
    except KafkaError as exc:
        raise ArchiveError(f"archive sync against {bootstrap} failed: {exc}") from exc
    finally:
        await admin.close()
