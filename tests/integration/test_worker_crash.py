"""A worker SIGKILLed in the middle of live sessions loses and duplicates nothing downstream."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import defaultdict
from pathlib import Path

from infra import process
from infra.stack import WORKER_MARKER, Stack
from schemas import MicroTurn, ModelOutput, Topics
from streams.log import read_topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.integration.test_end_to_end import write_wav

SESSIONS = {"crash-a": 4.0, "crash-b": 3.4, "crash-c": 4.6}


def by_turn(events: list[object], kind: type) -> dict[str, dict[int, int]]:
    """session -> turn -> how many records of `kind` the log holds for it (duplicates included)."""
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for event in events:
        if isinstance(event, kind):
            counts[event.session_id][event.seq] += 1  # type: ignore[attr-defined]
    return counts


async def test_sigkill_mid_session_every_turn_gets_exactly_one_turn_and_one_output(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    victim = (await asyncio.to_thread(pipeline.status))["workers"][0]["pid"]
    files = {s: write_wav(tmp_path / f"{s}.wav", secs, 200.0 + 50 * i) for i, (s, secs) in enumerate(SESSIONS.items())}
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        streaming = [
            asyncio.create_task(publish_file(kafka_bootstrap, topics, f, s, realtime=True)) for s, f in files.items()
        ]
        await capture.until(lambda out: sum(len(v) for v in out.values()) >= 12, timeout_s=60)
        os.kill(victim, signal.SIGKILL)  # mid-session: outputs are flowing, input keeps coming
        summaries = await asyncio.gather(*streaming)
        assert not process.is_alive(victim, WORKER_MARKER)
        restarted = await asyncio.to_thread(pipeline.up, lambda _: None)
        assert restarted["workers"][0]["alive"] and restarted["workers"][0]["pid"] != victim
        await capture.until(sessions_complete(list(SESSIONS)), timeout_s=180)

    log = [r.event for r in await read_topics(kafka_bootstrap, [topics.turns, topics.output], topics.partitions)]
    turns, outputs = by_turn(log, MicroTurn), by_turn(log, ModelOutput)
    for summary in summaries:
        expected = set(range(summary.audio_chunks))
        assert set(turns[summary.session_id]) == expected, summary.session_id
        assert set(outputs[summary.session_id]) == expected, summary.session_id
        # Not even a duplicate with the same event id: restarts rebuild from the log instead.
        assert set(turns[summary.session_id].values()) == {1}, turns[summary.session_id]
        assert set(outputs[summary.session_id].values()) == {1}, outputs[summary.session_id]
        finals = [e for e in log if isinstance(e, ModelOutput) and e.session_id == summary.session_id and e.final]
        assert {e.seq for e in finals} == {summary.audio_chunks - 1}
