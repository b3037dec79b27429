"""`session_exists`: whether the log already holds a session id, read from the key's partition."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemas import Topics
from streams.errors import SessionExists
from streams.media.testing import Tone, write_media
from streams.publish import publish_file, session_exists


async def test_a_published_session_exists_and_another_id_does_not(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    from infra.topics import ensure_topics

    topics = Topics(topic_prefix)
    assert not await session_exists(kafka_bootstrap, topics, "early")  # no topics yet
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, topics)
    assert not await session_exists(kafka_bootstrap, topics, "early")
    media = write_media(tmp_path / "a.wav", Tone("pcm_s16le", rate=16000, channels=1, seconds=0.4))
    for name in ("one", "two", "three"):
        await publish_file(kafka_bootstrap, topics, media, name, new_session=True)
    for name in ("one", "two", "three"):
        assert await session_exists(kafka_bootstrap, topics, name), name
    assert not await session_exists(kafka_bootstrap, topics, "four")
    with pytest.raises(SessionExists, match="session two already exists"):
        await publish_file(kafka_bootstrap, topics, media, "two", new_session=True)
