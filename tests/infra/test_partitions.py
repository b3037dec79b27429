"""`up --partitions`: topics get the count at creation, readers and workers take it from the broker,
and session-keyed topics that disagree are refused with a clear error (real broker)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.stack import Stack, StackSettings
from infra.topics import ensure_topics
from schemas import SessionStarted, Topics, event_id
from schemas.errors import ConfigError
from streams.log import partition_count, read_topics, session_partition
from streams.producer import EventProducer
from tests.conftest import CACHE_DIR, unique_prefix


def started(session_id: str) -> SessionStarted:
    return SessionStarted(event_id=event_id(session_id, "session", 0), session_id=session_id, seq=0, event_time_ms=0)


async def test_topics_get_the_partition_count_and_a_session_is_read_back_from_its_partition(
    kafka_bootstrap: str,
) -> None:
    topics = Topics(unique_prefix("six"), 6)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    assert await partition_count(kafka_bootstrap, Topics(topics.prefix)) == 6  # the broker's, not the default 4
    # A session whose partition differs under 4 and 6 partitions: an assumed count would miss it.
    session_id = next(s for s in (f"s{i}" for i in range(100)) if session_partition(s, 6) != session_partition(s, 4))
    async with EventProducer(kafka_bootstrap, topics) as producer:
        await producer.send(topics.session, started(session_id))
        await producer.flush()
    records = await read_topics(kafka_bootstrap, [topics.session], session_id=session_id)
    assert [r.event.session_id for r in records if r.event is not None] == [session_id]
    assert records[0].partition == session_partition(session_id, 6)


async def test_session_keyed_topics_that_disagree_on_their_partition_count_are_refused(
    kafka_bootstrap: str,
) -> None:
    topics = Topics(unique_prefix("mixed"))
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topics.audio, 2, 1)])
    finally:
        await admin.close()
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)  # the others with 4
    with pytest.raises(ConfigError, match=rf"same partition count.*'{topics.audio}': 2"):
        await partition_count(kafka_bootstrap, topics)


def test_up_refuses_a_partition_count_the_existing_topics_do_not_have(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = unique_prefix("refuse")
    ensure_topics(kafka_bootstrap, Topics(prefix, 4))
    settings = StackSettings(
        state_dir=tmp_path, cache_dir=CACHE_DIR, kafka=kafka_bootstrap, topic_prefix=prefix, partitions=8
    )
    with pytest.raises(ConfigError, match=r"expected 8 partitions .* exist with 4"):
        Stack(settings).up(say=lambda _: None)


def test_partitions_and_replication_factor_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROTURN_PARTITIONS", "12")
    monkeypatch.setenv("MICROTURN_REPLICATION_FACTOR", "3")
    settings = StackSettings.from_env()
    assert (settings.partitions, settings.replication_factor) == (12, 3)
    with pytest.raises(ConfigError, match=r"partitions must be 1\.\.256; got 0"):
        StackSettings(state_dir=Path("x"), cache_dir=Path("y"), partitions=0)
