"""The PCM WebSocket ingress: bearer tokens, and a browser-style call through the whole pipeline."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from infra.stack import Stack
from infra.topics import ensure_topics
from schemas import Topics
from streams.ingress import PcmProtocol
from tests.streams.ingress.helpers import TOKEN, read_sessions, running, talk_and_pause

FRAME = 320  # 20 ms of 16 kHz samples


async def send_realtime(websocket: ClientConnection, pcm: npt.NDArray[np.int16]) -> None:
    started = time.monotonic()
    for index, pos in enumerate(range(0, len(pcm), FRAME)):
        await asyncio.sleep(max(0.0, started + index * 0.02 - time.monotonic()))
        await websocket.send(pcm[pos : pos + FRAME].astype("<i2").tobytes())
    await websocket.send(json.dumps({"type": "stop"}))


async def receive_all(websocket: ClientConnection) -> list[Any]:
    """Every message until the server closes; marks are echoed at once (an instant player)."""
    received: list[Any] = []
    try:
        async for message in websocket:
            received.append(message if isinstance(message, bytes) else json.loads(message))
            if isinstance(message, str) and received[-1]["type"] == "mark":
                await websocket.send(json.dumps({"type": "mark", "name": received[-1]["name"]}))
    except ConnectionClosed:
        pass
    return received


async def test_tokens_are_checked_before_the_upgrade(kafka_bootstrap: str, topic_prefix: str) -> None:
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, Topics(topic_prefix))
    async with running(kafka_bootstrap, topic_prefix, PcmProtocol(TOKEN)) as server:
        base = f"ws://127.0.0.1:{server.port}/pcm"
        for url, headers in (
            (base, {}),
            (base, {"Authorization": "Bearer nope"}),
            (base, {"Authorization": f"Basic {TOKEN}"}),
            (f"{base}?access_token=nope", {}),
        ):
            with pytest.raises(InvalidStatus) as refused:
                await connect(url, additional_headers=headers)
            assert refused.value.response.status_code == 403
        for url, headers in ((base, {"Authorization": f"Bearer {TOKEN}"}), (f"{base}?access_token={TOKEN}", {})):
            websocket = await connect(url, additional_headers=headers)
            await websocket.send(b"\x00\x00")  # audio before start: a protocol error, the call closes
            with pytest.raises(ConnectionClosed):
                await websocket.recv()
            assert websocket.close_code == 1007


async def test_a_pcm_call_gets_every_output_pushed_back_with_audio_and_marks(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str
) -> None:
    pcm = talk_and_pause(2.0, 440.0, rate=16_000)
    async with running(kafka_bootstrap, topic_prefix, PcmProtocol(TOKEN)) as server:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        websocket = await connect(f"ws://127.0.0.1:{server.port}/", additional_headers=auth)
        await websocket.send(json.dumps({"type": "start", "label": "browser-1", "metadata": {"user": "u7"}}))
        await websocket.send(json.dumps({"type": "text", "text": "hello"}))
        received, _ = await asyncio.gather(receive_all(websocket), send_realtime(websocket, pcm))
    assert received[0]["type"] == "started" and received[0]["session_id"].startswith("ws-")
    sid = received[0]["session_id"]
    record = (await read_sessions(kafka_bootstrap, Topics(topic_prefix), [sid]))[sid]

    assert received[-1] == {"type": "ended", "reason": "complete", "detail": ""}
    outputs = [m for m in received if isinstance(m, dict) and m["type"] == "output"]
    assert [o["turn"] for o in outputs] == list(range(len(outputs))) and outputs[-1]["final"]
    assert len(outputs) == 10  # 2.0 s: 10 turns, the 10th final (the end of the stream adds no turn)
    for index, message in enumerate(received):
        if isinstance(message, dict) and message["type"] == "output" and message["audio"]:
            audio, mark = received[index + 1], received[index + 2]
            assert isinstance(audio, bytes) and len(audio) == 6400
            assert mark == {"type": "mark", "name": f"turn-{message['turn']}"}
    assert record.started is not None and record.started.metadata["user"] == "u7"
    assert record.started.metadata["label"] == "browser-1"
    assert np.array_equal(record.audio(), pcm)
    assert [t.text for t in record.texts if t.speaker == "caller"] == ["hello"]
    assert websocket.close_code == 1000
