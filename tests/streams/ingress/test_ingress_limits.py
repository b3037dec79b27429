"""Audio faster than real time, calls too long, too many calls per principal (issue 12, item 17).

Before: 120 s of audio sent in one burst was taken at once. Now a call may run at most
`audio_burst_ms` ahead of real time and last at most `max_call_s`; the audio beyond is never
published, the call ends with close 1008 and a reason, and the refusal is counted.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from schemas import Topics
from streams.ingress import PcmProtocol, TwilioProtocol
from streams.ingress.errors import CallTooLong, ConfigError, TooFast
from streams.ingress.limits import AudioLimit
from tests.streams.ingress.helpers import TOKEN, closed_with, media, read_sessions, running, stream

SECOND = np.full(16_000, 1000, dtype="<i2").tobytes()  # 1 s of 16 kHz s16le


def test_the_limit_follows_an_injected_clock() -> None:
    now = [100.0]
    limit = AudioLimit(burst_ms=1000, max_call_ms=60_000, clock=lambda: now[0])
    limit.check(1000)  # the burst allowance at the start
    with pytest.raises(TooFast, match="faster than real time"):
        limit.check(1200)
    now[0] += 5.0  # five seconds later, a stall caught up: still within real time
    limit.check(6000)
    with pytest.raises(CallTooLong, match="60 s"):
        limit.check(60_200)


def test_limits_are_checked_in_the_settings() -> None:
    from streams.ingress import IngressSettings

    with pytest.raises(ConfigError, match="audio_burst_ms"):
        IngressSettings(bootstrap="x:1", topics=Topics("t"), audio_burst_ms=0)
    with pytest.raises(ConfigError, match="max_calls_per_principal"):
        IngressSettings(bootstrap="x:1", topics=Topics("t"), max_calls_per_principal=0)


async def test_two_minutes_of_pcm_in_one_burst_are_refused_after_the_allowance(
    kafka_bootstrap: str, topics: Topics
) -> None:
    async with running(
        kafka_bootstrap, topics.prefix, PcmProtocol(TOKEN), audio_burst_ms=2000, drain_timeout_s=0.2
    ) as server:
        websocket = await connect(
            f"ws://127.0.0.1:{server.port}/", additional_headers={"Authorization": f"Bearer {TOKEN}"}
        )
        await websocket.send(json.dumps({"type": "start"}))
        sid = json.loads(await websocket.recv())["session_id"]
        with contextlib.suppress(ConnectionClosed):  # the server closes the call midway
            for _ in range(120):
                await websocket.send(SECOND)
        code, reason = await closed_with(websocket)
        refusals = dict(server.refusals)
    assert code == 1008 and "faster than real time" in reason
    assert refusals.get("TooFast") == 1
    record = (await read_sessions(kafka_bootstrap, topics, [sid], timeout_s=10))[sid]
    assert record.ended is not None and record.ended.reason == "aborted"
    assert "faster than real time" in record.ended.detail
    assert len(record.audio()) < 30 * 16_000  # far from the 120 s sent: the rest was never published


async def test_a_twilio_burst_is_refused_the_same_way(kafka_bootstrap: str, topics: Topics) -> None:
    sid = "MZburst"
    async with running(
        kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN), audio_burst_ms=1000, drain_timeout_s=0.2
    ) as server:
        websocket = await stream(server, sid)
        with contextlib.suppress(ConnectionClosed):
            for i in range(3000):  # 60 s of 20 ms frames, as fast as the socket takes them
                await websocket.send(media(sid, i, bytes([0x90]) * 160))
        code, reason = await closed_with(websocket)
    assert code == 1008 and "faster than real time" in reason
    record = (await read_sessions(kafka_bootstrap, topics, [sid], timeout_s=10))[sid]
    assert record.ended is not None and record.ended.reason == "aborted"
    assert len(record.audio()) < 30 * 16_000


async def test_a_call_ends_at_the_longest_call_and_keeps_exactly_that_much_audio(
    kafka_bootstrap: str, topics: Topics
) -> None:
    async with running(
        kafka_bootstrap, topics.prefix, PcmProtocol(TOKEN), max_call_s=1.0, audio_burst_ms=10_000, drain_timeout_s=0.2
    ) as server:
        websocket = await connect(
            f"ws://127.0.0.1:{server.port}/", additional_headers={"Authorization": f"Bearer {TOKEN}"}
        )
        await websocket.send(json.dumps({"type": "start"}))
        sid = json.loads(await websocket.recv())["session_id"]
        for _ in range(7):  # 200 ms each: the sixth would pass 1.0 s
            await websocket.send(SECOND[: 2 * 3200])
        code, reason = await closed_with(websocket)
        refusals = dict(server.refusals)
    assert code == 1008 and "longest call" in reason
    assert refusals.get("CallTooLong") == 1
    record = (await read_sessions(kafka_bootstrap, topics, [sid], timeout_s=10))[sid]
    assert record.ended is not None and record.ended.reason == "aborted"
    assert len(record.audio()) == 16_000


async def test_calls_per_principal_are_capped_with_429(kafka_bootstrap: str, topics: Topics) -> None:
    tokens = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789"}
    async with running(
        kafka_bootstrap, topics.prefix, PcmProtocol(tokens), max_calls_per_principal=1, drain_timeout_s=0.2
    ) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        alice = await connect(url, additional_headers={"Authorization": f"Bearer {tokens['alice']}"})
        await alice.send(json.dumps({"type": "start"}))
        await alice.recv()  # started: the call is running
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, additional_headers={"Authorization": f"Bearer {tokens['alice']}"})
        assert refused.value.response.status_code == 429
        bob = await connect(url, additional_headers={"Authorization": f"Bearer {tokens['bob']}"})
        await bob.send(json.dumps({"type": "start"}))
        assert json.loads(await bob.recv())["type"] == "started"
        for websocket in (alice, bob):
            await websocket.send(json.dumps({"type": "stop"}))
            await closed_with(websocket)
        assert server.refusals["http-429"] == 1
        again = await connect(url, additional_headers={"Authorization": f"Bearer {tokens['alice']}"})  # freed
        await again.close()
