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
topic[partition]@offset, raw key and value, and the reason. An event that decodes but that the
archive cannot hold (an integer beyond its int64 columns) is not chained: it is sent to the
dead-letter topic with the reason before the epoch's checkpoint, and archived from there like any
dead letter. The archiver never stops for a record, so no restart re-reads one it cannot write.

Chain heads are trusted only once verified: the audit topic's heads are walked with the archiver's
own key (`schemas.audit.walk_heads`), and the checkpoint's heads, which anyone who can write the
archive can rewrite, must carry its signature and chain to the topic's (`trust.trusted_heads`).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import NamedTuple

import msgspec
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from processors.archiver.batch import EpochBatch
from processors.archiver.checkpoint import Checkpoint, CheckpointStore
from processors.archiver.compact import recover as recover_compaction
from processors.archiver.durable import write_parquet
from processors.archiver.errors import ArchiveError
from processors.archiver.head_topic import read_head_records
from processors.archiver.partitions import topic_partitions
from processors.archiver.sealer import Sealer, publish_heads
from processors.archiver.settings import ArchiverSettings
from processors.archiver.tables import TABLE_OF
from processors.archiver.trust import trusted_heads
from processors.deadletter import dead_letter
from schemas import DeadLetter, DecodeError, Event, SessionEnded, decode, encode
from schemas.audit import AuditKeyError, load_signing_key, walk_heads
from streams import metrics
from streams.kafka_security import aiokafka_options
from streams.key_paths import KeyStoreError
from streams.vault import Vault
from streams.vault import current as current_vault

log = structlog.get_logger(__name__)


class Admitted(NamedTuple):
    """What the archiver does with one record (`admit`)."""

    event: Event
    """The event to chain and archive: the decoded one, or a DeadLetter when the record does not decode."""
    problem: str = ""
    """Why the record is dead-lettered, with what was expected and what arrived; empty for a good record."""
    refused: bool = False
    """The archive cannot hold the event: it goes to the dead-letter topic instead of the archive."""


def admit(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> Admitted:
    """Decide what becomes of the record at topic[partition]@offset; never raises for any key or value.

    Called for every consumed record, before anything is chained: a refused event is never chained.
    """
    try:
        event = decode(value or b"")
    except DecodeError as exc:
        return Admitted(dead_letter(topic, partition, offset, key, value, str(exc), "archiver"), str(exc))
    spec = TABLE_OF[type(event)]
    problem = spec.unwritable(event)
    if problem is None:
        return Admitted(event)
    return Admitted(event, f"the archive cannot hold this {spec.name}: {problem}", refused=True)


def _opener(vault: Vault) -> Callable[[Event], Event]:
    """The archiver's view of a payload for its derived columns (audio energy per 200 ms, a float
    that stays after erasure): opened with the session's key when it can be, else as stored."""

    def opened(event: Event) -> Event:
        try:
            return vault.open(event)
        except (DecodeError, KeyStoreError):
            return event

    return opened


class Archiver:
    """One archiver process's work; `run()` until `stop` is set, then commit what is buffered."""

    def __init__(self, settings: ArchiverSettings) -> None:
        self.settings = settings
        self.store = CheckpointStore(settings.archive_dir)
        self.batch = EpochBatch(settings.roll_bytes, settings.roll_age_s, opener=_opener(current_vault()))
        try:
            self.sealer = Sealer(load_signing_key(settings.key_path, create=True))
        except AuditKeyError as exc:
            raise ArchiveError(f"archiver start: {exc}") from exc
        self.checkpoint = Checkpoint()
        self.positions: dict[TopicPartition, int] = {}
        self.letters: list[DeadLetter] = []
        """Events of this epoch the archive cannot hold, for the dead-letter topic."""
        self.ready = asyncio.Event()
        """Set once recovery is done and every partition is assigned (the stack waits for it)."""
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka,
            group_id=settings.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            # Nothing waits on the archive record by record: with epochs of a second or more, let the
            # broker gather up to 1 MiB or 250 ms per fetch instead of answering one fetch per record
            # (broker CPU; docs/performance.md). Sub-second epochs (tests) fetch record by record.
            fetch_min_bytes=1024 * 1024 if settings.roll_age_s >= 1.0 else 1,
            fetch_max_wait_ms=250,
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
                if self.batch.due() or self.letters:
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
        recover_compaction(self.settings.archive_dir)  # a merge cut short: finished or undone
        topics = self.settings.topics
        walked = walk_heads(await read_head_records(self.settings.kafka, topics.audit), self.sealer.key)
        heads = {session_id: s.head for session_id, s in walked.items() if s.head is not None}
        for session_id, s in walked.items():
            for problem in s.problems:
                log.warning("chain_head_skipped", session_id=session_id, where=problem.where, reason=problem.detail)
        trusted, rejected = trusted_heads(self.checkpoint.heads, heads, self.sealer.key)
        for refused in rejected:
            log.error("checkpoint_head_rejected", session_id=refused.session_id, reason=refused.reason)
        if rejected:
            self.checkpoint = msgspec.structs.replace(self.checkpoint, heads=tuple(trusted))
        if self.checkpoint.epoch > 0:  # heads on the topic never run ahead of the checkpoint's
            self.sealer.resume(heads.values())
            self.sealer.resume(trusted)
        elif heads:
            self.sealer.supersede(heads.values())
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
        admitted = admit(record.topic, record.partition, record.offset, record.key, record.value)
        if admitted.problem:
            log.warning(
                "dead_letter",
                session_id=admitted.event.session_id,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                reason=admitted.problem,
            )
        if admitted.refused:
            self.letters.append(
                dead_letter(
                    record.topic,
                    record.partition,
                    record.offset,
                    record.key,
                    record.value,
                    admitted.problem,
                    "archiver",
                )
            )
        else:
            event = admitted.event
            appended = self.sealer.append(
                event.session_id, event.event_id, encode(event), ends=isinstance(event, SessionEnded)
            )
            coords = (record.topic, record.partition, record.offset, record.timestamp)
            self.batch.add(TABLE_OF[type(event)], event, coords, appended, len(record.value or b""))
        self.positions[TopicPartition(record.topic, record.partition)] = record.offset + 1

    async def commit_epoch(self) -> None:
        """Write the buffered rows as the next epoch's files and commit it (see the module docstring)."""
        if not self.batch.rows and not self.letters:
            return
        epoch = self.checkpoint.epoch + 1
        planned = list(self.batch.files(epoch))
        self.store.begin(epoch, [f.relpath for f in planned])
        for planned_file in planned:
            write_parquet(
                self.settings.archive_dir / planned_file.relpath, planned_file.table, planned_file.spec.binary_columns
            )
        self._fault("after_files", epoch)
        await self._send_letters()
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

    async def _send_letters(self) -> None:
        """Put this epoch's dead letters on the dead-letter topic; acknowledged before its checkpoint.

        A crash between the acknowledgement and the checkpoint sends them again after the restart,
        with the same event ids (derived from the source topic, partition and offset).
        """
        topic = self.settings.topics.dlq
        try:
            pending = [
                await self._producer.send(topic, key=letter.raw_key, value=encode(letter)) for letter in self.letters
            ]
            for future in pending:
                await future
        except KafkaError as exc:
            raise ArchiveError(f"sending {len(self.letters)} dead letters to {topic} failed: {exc}") from exc
        self.letters.clear()

    def _fault(self, point: str, epoch: int) -> None:
        if self.settings.fault == point:
            log.warning("fault_injected", point=point, epoch=epoch)
            os.kill(os.getpid(), signal.SIGKILL)
