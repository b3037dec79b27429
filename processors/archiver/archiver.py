"""The archiver: every microturn topic into Parquet, exactly once, with a signed audit chain.

Work is cut into *epochs*. An epoch buffers records until `roll_bytes` or `roll_age_s`, then
commits in this order (each step only after the previous one succeeded):

1. `intent-<epoch>.json` names the files the epoch will write;
2. each file is written durably (temporary name, fsync, atomic rename, fsync of the folder);
3. `checkpoint.json` records the next offset of every partition and the sessions' signed chain
   heads: the epoch's commit point;
4. the heads are published on the compacted audit topic;
5. the offsets are committed to the archiver's consumer group.

A crash anywhere is resolved on the next start by `CheckpointStore.recover()` (files of an epoch
without a checkpoint are deleted) and by seeking every partition to the checkpoint's offsets,
never to the group's (which may trail it); the checkpoint's heads are then published again and
its offsets committed. Each record therefore lands in the archive exactly once. Chains resume
from the audit topic's heads overlaid with the checkpoint's; a new archive root (no checkpoint)
archives the retained log from its start and begins new chains, replacing older heads.

A record that does not decode is archived as a DeadLetter in the dead_letter table, with its
topic[partition]@offset, raw key and value, and the reason; the archiver never stops for one.
"""

from __future__ import annotations

import asyncio
import os
import signal

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from processors.archiver.batch import EpochBatch
from processors.archiver.checkpoint import Checkpoint, CheckpointStore
from processors.archiver.durable import write_parquet
from processors.archiver.errors import ArchiveError
from processors.archiver.partitions import topic_partitions
from processors.archiver.sealer import Sealer, publish_heads
from processors.archiver.settings import ArchiverSettings
from processors.archiver.tables import TABLE_OF
from processors.deadletter import dead_letter
from replay.audit.head_log import latest_heads
from replay.audit.keys import load_signing_key
from schemas import DecodeError, decode, encode
from streams import metrics
from streams.kafka_security import aiokafka_options

log = structlog.get_logger(__name__)


class Archiver:
    """One archiver process's work; `run()` until `stop` is set, then commit what is buffered."""

    def __init__(self, settings: ArchiverSettings) -> None:
        self.settings = settings
        self.store = CheckpointStore(settings.archive_dir)
        self.batch = EpochBatch(settings.roll_bytes, settings.roll_age_s)
        self.sealer = Sealer(load_signing_key(settings.key_path, create=True))
        self.checkpoint = Checkpoint()
        self.positions: dict[TopicPartition, int] = {}
        self.ready = asyncio.Event()
        """Set once recovery is done and every partition is assigned (the stack waits for it)."""
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka,
            group_id=settings.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **aiokafka_options(),
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka, acks="all", enable_idempotence=True, **aiokafka_options()
        )

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The archiver's consumer (its lag is sampled for /metrics)."""
        return self._consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Archive until `stop` is set; ArchiveError if Kafka or the disk fails (restart to resume)."""
        try:
            await self._consumer.start()
            await self._producer.start()
            await self._resume()
            self.ready.set()
            while not stop.is_set():
                wait_s = max(0.05, min(1.0, self.settings.roll_age_s - self.batch.age_s()))
                batches = await self._consumer.getmany(timeout_ms=int(wait_s * 1000), max_records=10_000)
                for records in batches.values():
                    metrics.ARCHIVED_RECORDS.inc(len(records))
                    for record in records:
                        self._add(record)
                if self.batch.due():
                    await self.commit_epoch()
            await self.commit_epoch()
        except KafkaError as exc:
            raise ArchiveError(f"archiving from {self.settings.kafka} failed: {exc}") from exc
        finally:
            await self._consumer.stop()
            await self._producer.stop()

    async def _resume(self) -> None:
        self.store.lock()
        self.checkpoint = self.store.recover()
        topics = self.settings.topics
        heads = await latest_heads(self.settings.kafka, topics, key=self.sealer.key)
        if self.checkpoint.epoch > 0:  # heads on the topic never run ahead of the checkpoint's
            self.sealer.resume(heads.values())
            self.sealer.resume(self.checkpoint.heads)
        elif heads:
            log.warning(
                "new_archive_new_chains",
                topic=topics.audit,
                replaced_heads=len(heads),
                archive=str(self.settings.archive_dir),
            )
        assigned = await topic_partitions(self.settings.kafka, self.settings.archived_topics, "archiver start")
        self._consumer.assign(assigned)
        starts = await self._consumer.beginning_offsets(assigned)
        for tp in assigned:
            offset = self.checkpoint.offsets.get(tp.topic, {}).get(tp.partition, starts[tp])
            self._consumer.seek(tp, offset)
            self.positions[tp] = offset
        await publish_heads(self._producer, topics.audit, list(self.checkpoint.heads))
        await self._consumer.commit(dict(self.positions))
        log.info(
            "archiver_resumed",
            epoch=self.checkpoint.epoch,
            partitions=len(assigned),
            heads_on_topic=len(heads),
            heads_in_checkpoint=len(self.checkpoint.heads),
            archive=str(self.settings.archive_dir),
        )

    def _add(self, record: ConsumerRecord[bytes, bytes]) -> None:
        value = record.value or b""
        try:
            event = decode(value)
        except DecodeError as exc:
            log.warning(
                "dead_letter",
                session_id=(record.key or b"").decode(errors="replace"),
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                reason=str(exc),
            )
            event = dead_letter(
                record.topic, record.partition, record.offset, record.key, record.value, str(exc), "archiver"
            )
        appended = self.sealer.append(event.session_id, event.event_id, encode(event))
        coords = (record.topic, record.partition, record.offset, record.timestamp)
        self.batch.add(TABLE_OF[type(event)], event, coords, appended, len(value))
        self.positions[TopicPartition(record.topic, record.partition)] = record.offset + 1

    async def commit_epoch(self) -> None:
        """Write the buffered rows as the next epoch's files and commit it (see the module docstring)."""
        if not self.batch.rows:
            return
        epoch = self.checkpoint.epoch + 1
        planned = list(self.batch.files(epoch))
        self.store.begin(epoch, [f.relpath for f in planned])
        for planned_file in planned:
            write_parquet(
                self.settings.archive_dir / planned_file.relpath, planned_file.table, planned_file.spec.binary_columns
            )
        self._fault("after_files", epoch)
        offsets: dict[str, dict[int, int]] = {}
        for tp, offset in self.positions.items():
            offsets.setdefault(tp.topic, {})[tp.partition] = offset
        self.checkpoint = Checkpoint(epoch=epoch, offsets=offsets, heads=tuple(self.sealer.seal_touched()))
        self.store.commit(self.checkpoint)
        self._fault("after_checkpoint", epoch)
        await publish_heads(self._producer, self.settings.topics.audit, list(self.checkpoint.heads))
        await self._consumer.commit(dict(self.positions))
        log.info(
            "epoch_committed",
            epoch=epoch,
            rows=self.batch.rows,
            bytes=self.batch.nbytes,
            files=len(planned),
            sessions=len(self.checkpoint.heads),
        )
        self.batch.clear()

    def _fault(self, point: str, epoch: int) -> None:
        if self.settings.fault == point:
            log.warning("fault_injected", point=point, epoch=epoch)
            os.kill(os.getpid(), signal.SIGKILL)
