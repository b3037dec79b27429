"""The local broker SIGKILLed mid-call and restarted by `up`: the live call through the ingress
completes, every turn has exactly one MicroTurn and one ModelOutput in the log, the archiver
archives every record once, and the caller's longest wait for model audio is about the outage."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import kafka, process
from infra.stack import ARCHIVER_MARKER, Stack, StackSettings
from processors.archiver.sync import wait_synced
from schemas import MicroTurn, ModelOutput, Topics
from streams.ingress.twilio.client import place_call
from streams.log import read_topics
from tests.conftest import CACHE_DIR
from tests.integration.test_worker_crash import by_turn
from tests.processors.archiver.test_archiver_crash import assert_exactly_once_and_sealed
from tests.streams.ingress.helpers import TOKEN, mulaw, talk_and_pause

CALL_S = 10.0
GAP_SLACK_S = 5.0
"""How much longer than the outage the caller may wait for model audio (turns queued while the
broker was down are worked off, and the worker's consumer must notice the broker is back)."""


@pytest.fixture
def own_stack(run_dir: Path, topic_prefix: str) -> Iterator[Stack]:
    """A stack of its own: `up` starts its Kafka, Triton, a worker and the archiver."""
    settings = StackSettings(run_dir / "stacks" / topic_prefix, CACHE_DIR, None, None, topic_prefix, archivers=1)
    stack = Stack(settings)
    stack.up(say=lambda _: None)
    yield stack
    stack.down(say=lambda _: None)


async def wait_ready(bootstrap: str) -> float:
    """monotonic time at which the broker at `bootstrap` answers metadata requests again."""
    while not await asyncio.to_thread(kafka.metadata_ready, bootstrap, 1.0):
        await asyncio.sleep(0.1)
    return time.monotonic()


async def test_broker_sigkilled_mid_call_and_restarted_loses_and_repeats_nothing(
    own_stack: Stack, topic_prefix: str, tmp_path: Path
) -> None:
    status = await asyncio.to_thread(own_stack.status)
    bootstrap, broker = status["kafka"]["bootstrap"], status["kafka"]["pid"]
    topics = Topics(topic_prefix)
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN}
    cli = [str(Path(sys.executable).parent / "microturn")]
    server = await asyncio.create_subprocess_exec(
        *cli,
        "serve",
        "twilio",
        "--kafka",
        bootstrap,
        "--topic-prefix",
        topic_prefix,
        "--state-dir",
        str(tmp_path / "ingress"),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert server.stdout is not None
        banner = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
        url = banner.split("listening on ")[1].split()[0] + "media"
        await asyncio.wait_for(server.stdout.readline(), 60)  # the metrics line
        session = "MZbrokerrestart0123456789abcdef01"
        codes = mulaw(talk_and_pause(CALL_S, 350.0))
        call = asyncio.create_task(place_call(url, TOKEN, codes, tail_s=1.0, stream_sid=session, linger_s=120.0))
        await asyncio.sleep(3.0)
        assert not call.done()
        killed = time.monotonic()
        os.kill(broker, signal.SIGKILL)
        while process.is_alive(broker, kafka.MARKER):
            await asyncio.sleep(0.05)
        ready = asyncio.create_task(wait_ready(bootstrap))
        after = await asyncio.to_thread(own_stack.up, lambda _: None)
        outage_s = await ready - killed
        assert after["kafka"]["bootstrap"] == bootstrap and after["kafka"]["pid"] != broker
        result = await asyncio.wait_for(call, 180)
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.wait(), 60)
    assert server.returncode == 0
    assert result.server_closed and result.close_code == 1000, (result.close_code, result.close_reason)

    log: list[object] = [
        r.event for r in await read_topics(bootstrap, [topics.turns, topics.output], topics.partitions)
    ]
    turns, outputs = by_turn(log, MicroTurn), by_turn(log, ModelOutput)
    expected = set(range(int(CALL_S + 1.0) * 5))  # 200 ms turns of the call and its 1 s tail
    assert set(turns[session]) >= expected and set(turns[session]) == set(outputs[session])
    assert set(turns[session].values()) == {1}, turns[session]
    assert set(outputs[session].values()) == {1}, outputs[session]

    arrivals = [ns / 1e9 for _, ns in sorted(result.first_frame_ns.items())]
    assert len(arrivals) > 10, result.first_frame_ns
    gap_s = max(b - a for a, b in itertools.pairwise(arrivals))
    print(f"broker outage {outage_s:.2f} s; longest gap in model audio {gap_s:.2f} s")
    assert gap_s <= outage_s + GAP_SLACK_S

    await wait_synced(bootstrap, topics, timeout_s=120)
    archiver = after["archivers"][0]
    assert process.stop(archiver["pid"], ARCHIVER_MARKER)
    archive = Path(archiver["archive"])
    await assert_exactly_once_and_sealed(bootstrap, topics, archive, own_stack.audit_key_path(), [session])
