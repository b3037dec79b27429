"""Bad records are data: they land on the dead-letter topic and nothing else is disturbed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from infra.stack import Stack
from schemas import DeadLetter, Topics, VideoFrame, event_id
from streams.errors import OversizedEvent
from streams.log import read_topics
from streams.producer import EventProducer
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.integration.test_end_to_end import write_wav


async def test_garbage_on_an_input_topic_is_dead_lettered_and_sessions_go_on(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topics.audio, b"\x00garbage\xff" * 5, key=b"healthy")
        await producer.send_and_wait(topics.text, b'{"json": "is not our wire format"}', key=b"other")
    finally:
        await producer.stop()

    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        await publish_file(kafka_bootstrap, topics, write_wav(tmp_path / "ok.wav", 1.0, 440.0), "healthy")
        await capture.until(sessions_complete(["healthy"]), timeout_s=60)
    assert [c.output.seq for c in capture.outputs["healthy"]] == [0, 1, 2, 3, 4]

    letters = [r.event for r in await read_topics(kafka_bootstrap, [topics.dlq])]
    assert all(isinstance(e, DeadLetter) for e in letters)
    by_topic = {e.source_topic: e for e in letters if isinstance(e, DeadLetter)}
    assert set(by_topic) == {topics.audio, topics.text}
    garbage = by_topic[topics.audio]
    assert (garbage.source_partition, garbage.source_offset) == (sent.partition, sent.offset)
    assert garbage.reason.startswith(f"{topics.audio}[{sent.partition}]@{sent.offset}: expected a microturn event")
    assert garbage.raw_value == b"\x00garbage\xff" * 5 and garbage.session_id == "healthy"


async def test_an_event_larger_than_its_topic_allows_is_refused_before_sending(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    from infra.topics import ensure_topics

    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    huge = VideoFrame(
        event_id=event_id("big", "video", 0),
        session_id="big",
        seq=0,
        event_time_ms=0,
        jpeg=b"\xff" * (2 << 20),
        width=80,
        height=80,
    )
    async with EventProducer(kafka_bootstrap, topics) as producer:
        with pytest.raises(
            OversizedEvent, match=rf"VideoFrame big/video/0 is \d+ bytes; {topics.video} accepts at most"
        ):
            await producer.send(topics.video, huge)
    assert await read_topics(kafka_bootstrap, [topics.video]) == []
