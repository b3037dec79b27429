"""The one output tailer: filters on the record key before decoding, reads from the end it found."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer

from infra.topics import ensure_topics
from schemas import ModelOutput, Topics, encode, event_id
from schemas.codec import session_key
from streams.tail import OutputTail, TailError, sessions_complete


def _output(sid: str, turn: int, final: bool = False) -> ModelOutput:
    return ModelOutput(
        event_id=event_id(sid, "output", turn),
        session_id=sid,
        seq=turn,
        event_time_ms=200 * turn,
        turn=turn,
        action="LISTEN",
        final=final,
    )


async def _send(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for sid, value in records:
            await producer.send_and_wait(topic, value=value, key=session_key(sid))
    finally:
        await producer.stop()


async def test_a_tail_decodes_only_its_sessions_records_and_nothing_older(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    await _send(kafka_bootstrap, topics.output, [("mine", encode(_output("mine", 9)))])  # before the tail: unseen
    async with OutputTail(kafka_bootstrap, topics.output, topics.partitions, sessions=["mine"]) as tail:
        await _send(
            kafka_bootstrap,
            topics.output,
            [
                ("theirs", b"\xff not an event"),  # skipped on its key: never decoded, so not counted
                ("theirs", encode(_output("theirs", 0))),
                ("mine", encode(_output("mine", 0))),
                ("mine", b"\xff broken"),
                ("theirs", encode(_output("theirs", 1, final=True))),
                ("mine", encode(_output("mine", 1, final=True))),
            ],
        )
        await tail.until(sessions_complete(["mine"]), timeout_s=30)
    assert list(tail.outputs) == ["mine"]
    assert [c.output.seq for c in tail.outputs["mine"]] == [0, 1]
    assert tail.undecodable == 1 and tail.skipped == 3


async def test_a_tail_of_every_session_and_a_watch_added_later(kafka_bootstrap: str, topic_prefix: str) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    async with (
        OutputTail(kafka_bootstrap, topics.output, topics.partitions) as every,
        OutputTail(kafka_bootstrap, topics.output, topics.partitions, sessions=()) as later,
    ):
        later.watch("b")
        await _send(kafka_bootstrap, topics.output, [(s, encode(_output(s, 0, final=True))) for s in ("a", "b")])
        await every.until(sessions_complete(["a", "b"]), timeout_s=30)
        await later.until(sessions_complete(["b"]), timeout_s=30)
    assert sorted(every.outputs) == ["a", "b"] and list(later.outputs) == ["b"]


async def test_a_missing_topic_is_a_tail_error(kafka_bootstrap: str, topic_prefix: str) -> None:
    with pytest.raises(TailError, match="does not exist"):
        async with OutputTail(kafka_bootstrap, f"{topic_prefix}.nothing", 1):
            pass
