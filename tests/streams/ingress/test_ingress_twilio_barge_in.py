"""Model speech into a Twilio call, and the clear when the model stops: scripted outputs, no model.

The outputs are written straight to the output topic, so the test decides exactly when the model
speaks and stops; the caller never echoes marks (nothing was played yet), so stopping must cut.
"""

from __future__ import annotations

import asyncio
import base64
import json

from websockets.asyncio.client import ClientConnection

from schemas import ModelOutput, Topics, event_id
from streams.ingress import TwilioProtocol
from streams.producer import EventProducer
from tests.streams.ingress.helpers import TOKEN, closed_with, media, read_sessions, running, stream


def model_output(sid: str, turn: int, action: str) -> ModelOutput:
    level = 1000 if action == "SPEAK" else 0
    return ModelOutput(
        event_id=event_id(sid, "output", turn),
        session_id=sid,
        seq=turn,
        event_time_ms=200 * turn,
        turn=turn,
        action=action,
        audio=level.to_bytes(2, "little", signed=True) * 3200,
    )


async def next_events(websocket: ClientConnection, count: int) -> list[dict[str, object]]:
    return [json.loads(await asyncio.wait_for(websocket.recv(), 10)) for _ in range(count)]


async def test_speech_comes_as_20_ms_frames_and_marks_and_stopping_clears_and_records_the_cut(
    kafka_bootstrap: str, topics: Topics
) -> None:
    sid = "MZbarge"
    async with running(kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN), drain_timeout_s=0.5) as server:
        websocket = await stream(server, sid)
        for i in range(15):  # 300 ms of caller audio: the session clock is at turn 1
            await websocket.send(media(sid, i, bytes([0xFF]) * 160))
        async with EventProducer(kafka_bootstrap, topics) as producer:
            for turn, action in enumerate(["SPEAK", "SPEAK"]):
                await producer.send(topics.output, model_output(sid, turn, action))
            await producer.flush()
            spoken = await next_events(websocket, 22)
            await producer.send(topics.output, model_output(sid, 2, "LISTEN"))
        cleared = await next_events(websocket, 1)
        await websocket.send(json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": "turn-0"}}))  # cleared
        await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "40", "streamSid": sid}))
        await closed_with(websocket)

    assert [e["event"] for e in spoken] == (["media"] * 10 + ["mark"]) * 2
    assert [e["mark"] for e in spoken if e["event"] == "mark"] == [{"name": "turn-0"}, {"name": "turn-1"}]
    frames = [base64.b64decode(str(e["media"]["payload"])) for e in spoken if e["event"] == "media"]  # type: ignore[index]
    assert {len(f) for f in frames} == {160}
    assert all(e["streamSid"] == sid for e in spoken)
    assert cleared == [{"event": "clear", "streamSid": sid}]
    record = (await read_sessions(kafka_bootstrap, topics, [sid], timeout_s=10))[sid]
    assert record.texts == []  # the ingress's own playback never reaches the model as text
    assert [(p.kind, p.turns, p.audio_ms, p.at_turn) for p in record.playbacks] == [("cleared", (0, 1), 400, 2)]
    assert record.playbacks[0].event_time_ms == 300  # the session clock when the model stopped
    assert record.playbacks[0].turn == 1


async def test_marks_echoed_by_the_caller_are_recorded_as_played_not_as_text(
    kafka_bootstrap: str, topics: Topics
) -> None:
    sid = "MZheard"
    async with running(kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN), drain_timeout_s=0.5) as server:
        websocket = await stream(server, sid)
        for i in range(15):
            await websocket.send(media(sid, i, bytes([0xFF]) * 160))
        async with EventProducer(kafka_bootstrap, topics) as producer:
            for turn in range(3):
                await producer.send(topics.output, model_output(sid, turn, "SPEAK"))
            await producer.flush()
            await next_events(websocket, 33)
        for name in ("turn-1", "turn-2"):  # the first echo confirms turns 0 and 1
            await websocket.send(json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": name}}))
        await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "40", "streamSid": sid}))
        await closed_with(websocket)

    record = (await read_sessions(kafka_bootstrap, topics, [sid], timeout_s=10))[sid]
    assert record.texts == []
    assert [(p.kind, p.turns, p.audio_ms) for p in record.playbacks] == [("played", (0, 1), 400), ("played", (2,), 200)]
    assert [p.seq for p in record.playbacks] == [0, 1]
