"""Reading topics of the event log from the beginning up to their end at the time of the call.

Reading lives beside producing (`streams.producer`): the workers' recovery, replay, the audit
and the tests all read the log through `read_topics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from schemas import DecodeError, Event, decode
from schemas.codec import session_key
from schemas.errors import ConfigError, PayloadError, SessionErased
from schemas.topics import PARTITIONS, Topics
from streams.errors import TopicMissing
from streams.kafka_security import aiokafka_options
from streams.keystore import KeyMissing
from streams.vault import Vault, current


@dataclass(frozen=True)
class LogRecord:
    """One record of the log, decoded where it could be."""

    topic: str
    """Topic it was read from."""
    partition: int
    """Its partition."""
    offset: int
    """Its offset."""
    key: bytes | None
    """Message key (the session id)."""
    value: bytes
    """The raw value."""
    event: Event | None
    """The decoded event, or None when the value is not a valid event. Opened (payload in the clear)
    when `read_topics` was asked to; an event of an erased session, or one whose key this process
    cannot reach, stays encrypted (`event.encrypted` is set)."""


def session_partition(session_id: str, partitions: int) -> int:
    """The partition the producers' default partitioner puts `session_id`'s records on."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(session_key(session_id), every, every))


async def cluster_metadata(consumer: AIOKafkaConsumer) -> Any:
    """The cluster's topics and partitions, in one request (aiokafka's `topics()` fetches the same
    but keeps only the names; its `partitions_for_topic` knows only topics it was asked to track)."""
    return await consumer._client.fetch_all_metadata()


def partitions_of(cluster: Any, topic: str) -> int:
    """How many partitions `topic` has in `cluster` (0: not there)."""
    return len(cluster.partitions_for_topic(topic) or ())


def _partitions(count: int, session_id: str | None, only_partition: int | None) -> Sequence[int]:
    """Which of a topic's `count` partitions `read_topics` reads."""
    if only_partition is not None:
        return [only_partition]
    if session_id is not None:
        return [session_partition(session_id, count)]
    return range(count)


async def read_topics(
    bootstrap: str,
    topics: list[str],
    partitions: int = PARTITIONS,
    session_id: str | None = None,
    only_partition: int | None = None,
    start: Mapping[tuple[str, int], int] | None = None,
    opened: bool = True,
    vault: Vault | None = None,
) -> list[LogRecord]:
    """Every record of `topics` up to the end offsets at call time, per partition in offset order.

    Partition counts are the broker's (`partitions` is only the fallback for a topic whose metadata
    has none). With `session_id`, only records keyed by that session, read from its partition alone
    (same key, same partitioner, same count on every session-keyed topic); with `only_partition`, only that
    partition of each topic; `start` maps (topic, partition) to the offset to read it from (the
    others are read from their beginning). With `opened`, events are opened by `vault` (default:
    the process's); an event whose ciphertext does not authenticate is reported as undecodable.
    """
    vault = vault if vault is not None else current()
    # No group, so no committed offsets: "earliest" starts every partition at its beginning.
    # (seek_to_beginning() followed by position() loses the first fetch in aiokafka 0.14.)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", **aiokafka_options()
    )
    await consumer.start()
    try:
        cluster = await cluster_metadata(consumer)
        existing = cluster.topics()
        missing = [t for t in topics if t not in existing]
        if missing:
            raise TopicMissing(f"topics {missing} do not exist on {bootstrap}: run `microturn up` first")
        assigned = [
            TopicPartition(t, p)
            for t in topics
            for p in _partitions(partitions_of(cluster, t) or partitions, session_id, only_partition)
        ]
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        first = {tp: (start or {}).get((tp.topic, tp.partition), 0) for tp in assigned}
        for tp, offset in first.items():
            if 0 < offset < ends[tp]:
                consumer.seek(tp, offset)
        key = session_id.encode() if session_id is not None else None
        out: list[LogRecord] = []
        remaining = {tp for tp in assigned if ends[tp] > first[tp]}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                for r in records:
                    if first[tp] <= r.offset < ends[tp] and (key is None or r.key == key):
                        value = r.value or b""
                        try:
                            event: Event | None = decode(value)
                        except DecodeError:
                            event = None
                        if event is not None and event.encrypted and opened:
                            event = _open(vault, event)
                        out.append(LogRecord(tp.topic, tp.partition, r.offset, r.key, value, event))
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return out
    finally:
        await consumer.stop()


def _open(vault: Vault, event: Event) -> Event | None:
    """`event` opened; as it is when its key is erased or out of reach; None when it was altered."""
    try:
        return vault.open(event)
    except (SessionErased, KeyMissing):
        return event
    except PayloadError:
        return None


async def partition_count(bootstrap: str, topics: Topics) -> int:
    """The partition count the session-keyed topics of `topics` have on the broker.

    Every component that maps a session to its partition needs the same count on every
    session-keyed topic (`Topics.session_keyed`); ConfigError, naming each topic's count, when they
    disagree, and TopicMissing when one does not exist.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **aiokafka_options())
    await consumer.start()
    try:
        cluster = await cluster_metadata(consumer)
        missing = [t for t in topics.session_keyed if t not in cluster.topics()]
        if missing:
            raise TopicMissing(f"topics {missing} do not exist on {bootstrap}: run `microturn up` first")
        counts = {t: partitions_of(cluster, t) for t in topics.session_keyed}
    finally:
        await consumer.stop()
    if len(set(counts.values())) != 1:
        raise ConfigError(
            f"expected every session-keyed topic under {topics.prefix!r} to have the same partition count "
            f"(a session's records must share one partition number); got {counts}"
        )
    return next(iter(counts.values()))
