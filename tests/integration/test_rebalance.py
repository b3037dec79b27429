"""Rebalances during live sessions: a worker added mid-call and one SIGKILLed mid-call (of two).

Either way every turn of every session ends with exactly one MicroTurn and one ModelOutput in the
log: the worker that gives a partition up answers nothing more of it (its lanes hold their turns
until the new assignment is known, what is in flight is flushed first), and the one that takes it
rebuilds its sessions from the log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from infra import process
from infra.stack import WORKER_MARKER, Stack
from schemas import MicroTurn, ModelOutput, Topics
from streams.log import read_topics, session_partition
from streams.publish import StreamSummary, publish_file
from streams.tail import OutputTail, sessions_complete
from tests.integration.test_end_to_end import write_wav
from tests.integration.test_worker_crash import by_turn

SECONDS = 9.0
JOIN_SECONDS = 30.0
"""Long enough for a second worker process to start and join while the calls still stream."""


def one_session_per_partition(name: str, partitions: int) -> list[str]:
    """Session ids that land on every partition once (so every partition has a live session to move)."""
    chosen: dict[int, str] = {}
    for i in range(200):
        session_id = f"{name}-{i}"
        chosen.setdefault(session_partition(session_id, partitions), session_id)
    return [chosen[p] for p in sorted(chosen)]


async def assert_exactly_once(kafka: str, topics: Topics, summaries: Sequence[StreamSummary]) -> None:
    log = [r.event for r in await read_topics(kafka, [topics.turns, topics.output], topics.partitions)]
    turns, outputs = by_turn(log, MicroTurn), by_turn(log, ModelOutput)
    for summary in summaries:
        expected = set(range(summary.audio_chunks))
        assert set(turns[summary.session_id]) == expected, summary.session_id
        assert set(outputs[summary.session_id]) == expected, summary.session_id
        assert set(turns[summary.session_id].values()) == {1}, (summary.session_id, turns[summary.session_id])
        assert set(outputs[summary.session_id].values()) == {1}, (summary.session_id, outputs[summary.session_id])


def stream(
    kafka: str, topics: Topics, sessions: list[str], tmp_path: Path, seconds: float = SECONDS
) -> list[asyncio.Task[StreamSummary]]:
    files = {s: write_wav(tmp_path / f"{s}.wav", seconds, 200.0 + 40 * i) for i, s in enumerate(sessions)}
    return [asyncio.create_task(publish_file(kafka, topics, f, s, realtime=True)) for s, f in files.items()]


async def test_worker_added_mid_call_leaves_every_turn_exactly_once(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    sessions = one_session_per_partition("added", topics.partitions)
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        streaming = stream(kafka_bootstrap, topics, sessions, tmp_path, JOIN_SECONDS)
        await capture.until(lambda out: sum(len(v) for v in out.values()) >= 2 * len(sessions), timeout_s=60)
        grown = Stack(dataclasses.replace(pipeline.settings, workers=2))
        status = await asyncio.to_thread(grown.up, lambda _: None)
        assert len(status["workers"]) == 2 and all(w["alive"] for w in status["workers"])
        assert not all(task.done() for task in streaming), "the second worker must join mid-call"
        summaries = await asyncio.gather(*streaming)
        await capture.until(sessions_complete(sessions), timeout_s=240)
    joined = (pipeline.settings.state_dir / "workers" / "worker-1.log").read_text()
    assert "partitions_assigned" in joined  # it took part in the rebalance
    await assert_exactly_once(kafka_bootstrap, topics, summaries)


async def test_one_of_two_workers_sigkilled_mid_call_leaves_every_turn_exactly_once(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    sessions = one_session_per_partition("killed", topics.partitions)
    two = Stack(dataclasses.replace(pipeline.settings, workers=2))
    workers = (await asyncio.to_thread(two.up, lambda _: None))["workers"]
    victim = workers[0]["pid"]
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        streaming = stream(kafka_bootstrap, topics, sessions, tmp_path)
        await capture.until(lambda out: sum(len(v) for v in out.values()) >= 4 * len(sessions), timeout_s=60)
        os.kill(victim, signal.SIGKILL)  # the survivor takes its partitions after the group's session timeout
        summaries = await asyncio.gather(*streaming)
        assert not process.is_alive(victim, WORKER_MARKER)
        await capture.until(sessions_complete(sessions), timeout_s=240)
    await assert_exactly_once(kafka_bootstrap, topics, summaries)
