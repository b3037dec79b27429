"""Two Triton servers, the one a live session is pinned to killed mid-call, restarted by `up` on
another port: the session moves to the other server, is rebuilt there from its recorded turns, and
every output equals an uninterrupted run; the worker finds the restarted server without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from inference.loading import load_network, repository_params
from inference.pool import rank, read_servers
from infra.stack import Stack, StackSettings
from processors.recovery import first_per_turn
from replay.offline import run_session
from schemas import ACTIONS, ModelOutput, Topics
from streams.log import read_topics
from streams.publish import publish_file
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR
from tests.integration.test_end_to_end import write_wav
from tests.integration.test_triton_restart import children


@pytest.fixture
def two_tritons(run_dir: Path, kafka_bootstrap: str, topic_prefix: str) -> Iterator[Stack]:
    """A stack of its own with two local Triton servers and one worker, on the shared broker."""
    settings = StackSettings(
        run_dir / "stacks" / topic_prefix, CACHE_DIR, kafka_bootstrap, None, topic_prefix, tritons=2
    )
    stack = Stack(settings)
    stack.up(say=lambda _: None)
    yield stack
    stack.down(say=lambda _: None)


async def test_a_killed_server_s_session_moves_rebuilds_and_the_restarted_server_is_found(
    two_tritons: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    status = await asyncio.to_thread(two_tritons.status)
    servers = [t["grpc"] for t in status["tritons"]]
    assert len(servers) == 2 and all(t["ready"] for t in status["tritons"]) and status["triton"] == status["tritons"][0]
    session = next(s for s in (f"failover-{i}" for i in range(100)) if rank(s, servers)[0] == servers[0])
    topics = Topics(topic_prefix)
    call = write_wav(tmp_path / "call.wav", 5.0, 180.0)
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        streaming = asyncio.create_task(publish_file(kafka_bootstrap, topics, call, session, realtime=True))
        await capture.until(lambda out: len(out.get(session, [])) >= 6, timeout_s=60)
        crashed = status["tritons"][0]["pid"]
        orphans = children(crashed)
        os.kill(crashed, signal.SIGKILL)
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)
        with socket.socket() as squatter:  # the old port is taken (by us, or still by the dead one's socket)
            with contextlib.suppress(OSError):
                squatter.bind(("127.0.0.1", int(servers[0].rsplit(":", 1)[1])))
            after = await asyncio.to_thread(two_tritons.up, lambda _: None)  # restarts it on a new port
        summary = await streaming
        await capture.until(sessions_complete([session]), timeout_s=120)

    moved = after["tritons"][0]["grpc"]
    assert moved != servers[0] and after["tritons"][0]["ready"] and after["tritons"][1]["grpc"] == servers[1]
    assert read_servers(two_tritons.discovery_path) == [moved, servers[1]]
    log = [r.event for r in await read_topics(kafka_bootstrap, [topics.turns, topics.output], topics.partitions)]
    turns = [t for t in first_per_turn(log) if t.session_id == session]
    outputs = {e.seq: e for e in log if isinstance(e, ModelOutput) and e.session_id == session}
    assert [t.seq for t in turns] == list(range(summary.audio_chunks)) == sorted(outputs)
    net = load_network(repository_params())
    for turn, expected in zip(turns, run_session(net, session, turns), strict=True):
        got = outputs[turn.seq]
        assert got.action == ACTIONS[int(expected.action)], turn.seq
        assert got.text.encode() == expected.text and got.delegate.encode() == expected.delegate, turn.seq
        assert np.array_equal(np.frombuffer(got.audio, "<i2"), expected.audio), turn.seq
    worker_log = (two_tritons.settings.state_dir / "workers" / "worker-0.log").read_text()
    assert "triton_server_down" in worker_log and "rebuilding_session" in worker_log
