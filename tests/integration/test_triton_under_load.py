"""Triton restart under load, as an operator does it: two servers with several live sessions on
each and two workers; one server is SIGKILLed mid-call and `microturn up` is run. Every live session
completes, every turn has exactly one MicroTurn and one ModelOutput in the log, and each session's
outputs equal an uninterrupted run."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from inference.loading import load_network, repository_params
from inference.pool import rank
from infra.stack import Stack, StackSettings
from processors.recovery import first_per_turn
from replay.offline import run_session
from schemas import ACTIONS, ModelOutput, Topics
from streams.log import read_topics
from streams.tail import OutputTail, sessions_complete
from tests.conftest import CACHE_DIR
from tests.integration.test_rebalance import assert_exactly_once, stream
from tests.integration.test_triton_restart import children

PER_SERVER = 3


@pytest.fixture
def loaded_stack(run_dir: Path, kafka_bootstrap: str, topic_prefix: str) -> Iterator[Stack]:
    """A stack of its own with two local Triton servers and two workers, on the shared broker."""
    settings = StackSettings(
        run_dir / "stacks" / topic_prefix, CACHE_DIR, kafka_bootstrap, None, topic_prefix, workers=2, tritons=2
    )
    stack = Stack(settings)
    stack.up(say=lambda _: None)
    yield stack
    stack.down(say=lambda _: None)


async def test_every_live_session_completes_when_a_loaded_server_is_killed_and_up_is_run(
    loaded_stack: Stack, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    status = await asyncio.to_thread(loaded_stack.status)
    servers = [t["grpc"] for t in status["tritons"]]
    candidates = [f"load-{i}" for i in range(200)]
    sessions = [s for server in servers for s in [c for c in candidates if rank(c, servers)[0] == server][:PER_SERVER]]
    topics = Topics(topic_prefix)
    async with OutputTail(kafka_bootstrap, topics.output) as capture:
        streaming = stream(kafka_bootstrap, topics, sessions, tmp_path, seconds=6.0)
        await capture.until(lambda out: all(len(out.get(s, [])) >= 3 for s in sessions), timeout_s=90)
        crashed = status["tritons"][0]["pid"]
        orphans = children(crashed)
        os.kill(crashed, signal.SIGKILL)
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)
        after = await asyncio.to_thread(loaded_stack.up, lambda _: None)
        summaries = await asyncio.gather(*streaming)
        await capture.until(sessions_complete(sessions), timeout_s=240)

    assert all(t["ready"] for t in after["tritons"]) and after["tritons"][0]["pid"] != crashed
    await assert_exactly_once(kafka_bootstrap, topics, summaries)
    workers = loaded_stack.settings.state_dir / "workers"
    worker_logs = "".join((workers / f"worker-{i}.log").read_text() for i in range(2))
    assert worker_logs.count("rebuilding_session") >= PER_SERVER  # the killed server's sessions moved mid-call
    log = [r.event for r in await read_topics(kafka_bootstrap, [topics.turns, topics.output], topics.partitions)]
    net = load_network(repository_params())
    for session in sessions:
        turns = [t for t in first_per_turn([e for e in log if getattr(e, "session_id", None) == session])]
        outputs = {e.seq: e for e in log if isinstance(e, ModelOutput) and e.session_id == session}
        for turn, expected in zip(turns, run_session(net, session, turns), strict=True):
            got = outputs[turn.seq]
            assert got.action == ACTIONS[int(expected.action)], (session, turn.seq)
            assert np.array_equal(np.frombuffer(got.audio, "<i2"), expected.audio), (session, turn.seq)
