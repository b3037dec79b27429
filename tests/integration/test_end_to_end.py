"""A whole session through the real broker, workers and Triton server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from infra.stack import Stack
from schemas import ACTIONS, Topics
from streams.log import read_topics
from streams.media.testing import write_wav
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete


async def test_two_concurrent_sessions_get_one_output_per_chunk_in_order(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    calls = {
        "alice": write_wav(tmp_path / "alice.wav", 2.1, 220.0),
        "bob": write_wav(tmp_path / "bob.wav", 3.0, 330.0, rate=8_000),
    }
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        summaries = await asyncio.gather(
            *(publish_file(kafka_bootstrap, topics, path, name) for name, path in calls.items())
        )
        await capture.until(sessions_complete(list(calls)), timeout_s=120)

    assert [s.audio_chunks for s in summaries] == [11, 15]  # ceil(2.1 s / 0.2 s), ceil(3.0 s / 0.2 s)
    for summary in summaries:
        outputs = [c.output for c in capture.outputs[summary.session_id]]
        assert [o.seq for o in outputs] == list(range(summary.audio_chunks))
        assert [o.final for o in outputs] == [False] * (summary.audio_chunks - 1) + [True]
        assert all(o.session_id == summary.session_id for o in outputs)
        assert all(o.action in ACTIONS and len(o.audio) == 6400 for o in outputs)
        assert len({o.model_version for o in outputs}) == 1 and outputs[0].model_version
    # Nothing of a healthy session is dead-lettered (no redelivery counted as a straggler).
    assert await read_topics(kafka_bootstrap, [topics.dlq]) == []
