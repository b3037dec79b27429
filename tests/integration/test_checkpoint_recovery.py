"""A worker that takes partitions over mid-call starts from their checkpoints, and loses or
duplicates nothing: every turn still has exactly one MicroTurn and one ModelOutput in the log."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack import Stack
from processors.checkpoint import read_checkpoints
from schemas import Topics
from streams.tail import OutputTail, sessions_complete
from tests.integration.test_rebalance import assert_exactly_once, one_session_per_partition, stream


@pytest.fixture
def two_workers(pipeline: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The pipeline's topics with two workers that checkpoint every second."""
    monkeypatch.setenv("MICROTURN_CHECKPOINT_S", "1")
    stack = Stack(dataclasses.replace(pipeline.settings, workers=2))
    pipeline.down(say=lambda _: None)  # its worker started without the setting
    stack.up(say=lambda _: None)
    yield stack
    stack.down(say=lambda _: None)


async def wait_for_checkpoints(kafka: str, topics: Topics, polls: int = 120) -> None:
    """Until every partition has a checkpoint holding a live session (at most `polls` reads, 0.5 s apart)."""
    live: set[int] = set()
    for _ in range(polls):
        found = await read_checkpoints(kafka, topics)
        live = {p for p, c in found.items() if any(not s.finished for s in c.sessions)}
        if live == set(range(topics.partitions)):
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"after {polls} reads, checkpoints with live sessions for partitions {sorted(live)} only")


async def test_a_worker_taking_over_mid_call_starts_from_the_checkpoints(
    two_workers: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = Topics(topic_prefix)
    sessions = one_session_per_partition("ckpt", topics.partitions)
    victim, survivor = (await asyncio.to_thread(two_workers.status))["workers"]
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        streaming = stream(kafka_bootstrap, topics, sessions, tmp_path, seconds=12.0)
        await wait_for_checkpoints(kafka_bootstrap, topics)
        os.kill(victim["pid"], signal.SIGKILL)
        summaries = await asyncio.gather(*streaming)
        await capture.until(sessions_complete(sessions), timeout_s=240)
    await assert_exactly_once(kafka_bootstrap, topics, summaries)
    took_over = (two_workers.settings.state_dir / "workers" / f"{survivor['name']}.log").read_text()
    assert "start=checkpoint" in took_over  # its recovery of the victim's partitions started from checkpoints
