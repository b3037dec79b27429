"""Triton restarts in the middle of a live session: the session's model state is rebuilt from its
recorded turns and every output equals an uninterrupted run of the same input."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from inference.loading import load_network, repository_params
from infra import process
from infra.stack import Stack, StackSettings
from infra.triton import MARKER, TritonServer
from processors.recovery import first_per_turn
from replay.offline import run_session
from schemas import ACTIONS, ModelOutput, Topics
from streams.log import read_topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR
from tests.integration.test_end_to_end import write_wav


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.fixture
def own_triton(run_dir: Path) -> Iterator[tuple[TritonServer, list[int]]]:
    server = TritonServer(run_dir / "triton-restart", process.free_port(), process.free_port())
    pids = [server.start()]
    yield server, pids
    for pid in pids:
        process.stop(pid, MARKER)


@pytest.fixture
def restart_pipeline(
    run_dir: Path, kafka_bootstrap: str, own_triton: tuple[TritonServer, list[int]], topic_prefix: str
) -> Iterator[Stack]:
    stack = Stack(
        StackSettings(
            run_dir / "stacks" / topic_prefix, CACHE_DIR, kafka_bootstrap, own_triton[0].grpc_url, topic_prefix
        )
    )
    stack.up(say=lambda _: None)
    yield stack
    stack.down(say=lambda _: None)


async def test_outputs_after_a_triton_restart_equal_an_uninterrupted_run(
    restart_pipeline: Stack,
    own_triton: tuple[TritonServer, list[int]],
    topic_prefix: str,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    server, pids = own_triton
    topics = Topics(topic_prefix)
    call = write_wav(tmp_path / "call.wav", 5.0, 180.0)
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        streaming = asyncio.create_task(publish_file(kafka_bootstrap, topics, call, "restarted", realtime=True))
        await capture.until(lambda out: len(out.get("restarted", [])) >= 6, timeout_s=60)
        crashed = pids.pop()
        orphans = children(crashed)  # the python-backend stub outlives a SIGKILLed server
        os.kill(crashed, signal.SIGKILL)  # a crash: the server and every session's state are gone
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)
        # (a SIGTERM would let Triton drain and keep serving for seconds: too gentle for this test)
        pids.append(await asyncio.to_thread(server.start))  # same ports, fresh state
        summary = await streaming
        await capture.until(sessions_complete(["restarted"]), timeout_s=120)

    log = [r.event for r in await read_topics(kafka_bootstrap, [topics.turns, topics.output], topics.partitions)]
    turns = first_per_turn(log)
    outputs = {e.seq: e for e in log if isinstance(e, ModelOutput)}
    assert [t.seq for t in turns] == list(range(summary.audio_chunks)) == sorted(outputs)
    net = load_network(repository_params())
    for turn, expected in zip(turns, run_session(net, "restarted", turns), strict=True):
        got = outputs[turn.seq]
        assert got.action == ACTIONS[int(expected.action)], turn.seq
        assert got.text.encode() == expected.text and got.delegate.encode() == expected.delegate, turn.seq
        assert np.array_equal(np.frombuffer(got.audio, "<i2"), expected.audio), turn.seq
    worker_log = (restart_pipeline.settings.state_dir / "workers" / "worker-0.log").read_text()
    assert "rebuilding_session" in worker_log and "session_id=restarted" in worker_log  # the recovery path ran
