"""Hostile records through the real pipeline: each is dead-lettered with its reason and acked, and the
partition goes on (later records are processed, the committed offset moves past the bad one)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from infra.stack import Stack
from schemas import AudioChunk, DeadLetter, MicroTurn, SessionEnded, SessionStarted, TextEvent, Topics, encode, event_id
from streams.log import read_topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.integration.test_end_to_end import write_wav


def partition_of(key: str, partitions: int) -> int:
    return int(DefaultPartitioner()(key.encode(), list(range(partitions)), list(range(partitions))))


def same_partition_as(key: str, partitions: int, stem: str) -> str:
    target = partition_of(key, partitions)
    return next(f"{stem}-{i}" for i in range(1000) if partition_of(f"{stem}-{i}", partitions) == target)


async def committed(bootstrap: str, group: str, tp: TopicPartition, past: int, timeout_s: float = 60) -> int:
    """The group's committed offset of `tp`, once it is above `past` (or whatever it is at the timeout)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            offsets = await admin.list_consumer_group_offsets(group, partitions=[tp])
            meta = offsets.get(tp)
            offset = meta.offset if meta is not None else -1
            if offset > past or time.monotonic() > deadline:
                return offset
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def send_raw(bootstrap: str, topic: str, key: bytes, value: bytes) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=key)
        return sent.partition, sent.offset
    finally:
        await producer.stop()


def env(session: str, stream: str, seq: int, ms: int) -> dict[str, object]:
    return {"event_id": event_id(session, stream, seq), "session_id": session, "seq": seq, "event_time_ms": ms}


async def test_a_turn_that_fails_in_the_interaction_lane_is_dead_lettered_acked_and_the_partition_goes_on(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    short = MicroTurn(**env("short-audio", "turn", 0, 0), turn=0, audio=b"\x01" * 10)  # type: ignore[arg-type]
    partition, offset = await send_raw(kafka_bootstrap, topics.turns, b"short-audio", encode(short))
    healthy = same_partition_as("short-audio", topics.partitions, "healthy")

    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        await publish_file(kafka_bootstrap, topics, write_wav(tmp_path / "ok.wav", 1.0, 440.0), healthy)
        await capture.until(sessions_complete([healthy]), timeout_s=90)
    assert [c.output.seq for c in capture.outputs[healthy]] == [0, 1, 2, 3, 4]
    assert "short-audio" not in capture.outputs

    letters = [r.event for r in await read_topics(kafka_bootstrap, [topics.dlq])]
    mine = [e for e in letters if isinstance(e, DeadLetter) and e.source_topic == topics.turns]
    assert [(e.source_partition, e.source_offset, e.session_id) for e in mine] == [(partition, offset, "short-audio")]
    assert "TurnInput.audio: expected int16 [3200], got int16 [5]" in mine[0].reason
    assert mine[0].raw_value == encode(short)
    tp = TopicPartition(topics.turns, partition)
    assert await committed(kafka_bootstrap, f"{topic_prefix}-workers", tp, offset) > offset


async def test_a_clock_jump_and_an_invalid_session_id_are_dead_lettered_and_the_session_goes_on(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str
) -> None:
    topics = Topics(topic_prefix)
    s = "jumpy"
    silence = b"\x00" * 6400
    records = [
        (topics.session, SessionStarted(**env(s, "session", 0, 0))),  # type: ignore[arg-type]
        (topics.audio, AudioChunk(**env(s, "audio", 0, 0), turn=0, samples=silence)),  # type: ignore[arg-type]
        (topics.audio, AudioChunk(**env(s, "audio", 1, 1_000_000), turn=5000, samples=silence)),  # type: ignore[arg-type]
        (topics.audio, AudioChunk(**env(s, "audio", 1, 200), turn=1, samples=silence, last=True)),  # type: ignore[arg-type]
        (topics.session, SessionEnded(**env(s, "session", 1, 400), turns=2, audio_chunks=2)),  # type: ignore[arg-type]
    ]
    bad_id = TextEvent(**env("../../etc\n\x1b[2J", "text", 0, 0), text="hi")  # type: ignore[arg-type]
    bad_partition, bad_offset = await send_raw(kafka_bootstrap, topics.text, b"bad-id", encode(bad_id))
    intruder = TextEvent(**env(s, "text", 0, 0), text="keyed as another session")  # type: ignore[arg-type]
    await send_raw(kafka_bootstrap, topics.text, b"attacker", encode(intruder))
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        jump_at = -1
        for topic, event in records:
            _, at = await send_raw(kafka_bootstrap, topic, s.encode(), encode(event))
            if event.event_time_ms == 1_000_000:
                jump_at = at
        await capture.until(sessions_complete([s]), timeout_s=90)
    assert [c.output.seq for c in capture.outputs[s]] == [0, 1]
    turns = [r.event for r in await read_topics(kafka_bootstrap, [topics.turns], session_id=s)]
    assert sorted({t.seq for t in turns if isinstance(t, MicroTurn)}) == [0, 1]

    records = await read_topics(kafka_bootstrap, [topics.dlq])
    letters = [e for e in (r.event for r in records) if isinstance(e, DeadLetter)]
    by_topic = {e.source_topic: e for e in letters}
    assert by_topic[topics.audio].source_offset == jump_at
    assert "too far ahead of the session clock" in by_topic[topics.audio].reason
    texts = {
        e.source_offset: e for e in letters if e.source_topic == topics.text and e.source_partition == bad_partition
    }
    assert "expected a session id" in texts[bad_offset].reason
    assert any("expected the record key to be the session id 'jumpy'" in e.reason for e in letters)
    assert all(t.text == "" for t in turns if isinstance(t, MicroTurn))  # the intruder never reached jumpy's turns
