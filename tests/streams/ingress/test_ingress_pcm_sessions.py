"""On `serve ws` a client never attaches to a session it did not open (issue 12, item 13).

Before: a client could `start` with the session id another producer was using, receive that
session's outputs and end it. Now the server assigns every connection its own id.
"""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from schemas import ModelOutput, Topics, event_id
from streams.ingress import PcmProtocol
from streams.producer import EventProducer
from tests.streams.ingress.helpers import TOKEN, closed_with, read_sessions, running

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_a_client_cannot_choose_a_session_id_and_so_cannot_hijack_one(
    kafka_bootstrap: str, topics: Topics
) -> None:
    async with running(kafka_bootstrap, topics.prefix, PcmProtocol(TOKEN), drain_timeout_s=0.2) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        victim = await connect(url, additional_headers=AUTH)
        await victim.send(json.dumps({"type": "start"}))
        started = json.loads(await asyncio.wait_for(victim.recv(), 10))
        sid = started["session_id"]
        assert started["type"] == "started" and sid.startswith("ws-")

        for claimed in (sid, "streamed-by-another-producer"):  # live here, or live anywhere else
            attacker = await connect(url, additional_headers=AUTH)
            await attacker.send(json.dumps({"type": "start", "session_id": claimed}))
            code, reason = await closed_with(attacker)
            assert code == 1008 and "assigned by the server" in reason

        async with EventProducer(kafka_bootstrap, topics) as producer:  # the victim's session still gets its output
            await producer.send(
                topics.output,
                ModelOutput(
                    event_id=event_id(sid, "output", 0), session_id=sid, seq=0, event_time_ms=0, turn=0, action="LISTEN"
                ),
            )
            await producer.flush()
        output = json.loads(await asyncio.wait_for(victim.recv(), 10))
        assert (output["type"], output["turn"]) == ("output", 0)
        await victim.send(json.dumps({"type": "stop"}))
        await closed_with(victim)

    records = await read_sessions(kafka_bootstrap, topics, [sid, "streamed-by-another-producer"], timeout_s=10)
    assert records[sid].ended is not None and records[sid].ended.reason == "complete"  # ended by its own client
    assert records["streamed-by-another-producer"].started is None  # nothing published under the claimed id


async def test_two_clients_get_two_sessions_and_a_label_is_kept(kafka_bootstrap: str, topics: Topics) -> None:
    async with running(kafka_bootstrap, topics.prefix, PcmProtocol(TOKEN), drain_timeout_s=0.2) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        ids = []
        for _ in range(2):
            websocket = await connect(url, additional_headers=AUTH)
            await websocket.send(json.dumps({"type": "start", "label": "same-label"}))
            ids.append(json.loads(await asyncio.wait_for(websocket.recv(), 10))["session_id"])
            await websocket.send(json.dumps({"type": "stop"}))
            await closed_with(websocket)
    assert len(set(ids)) == 2
    records = await read_sessions(kafka_bootstrap, topics, ids, timeout_s=10)
    for sid in ids:
        started = records[sid].started
        assert started is not None and started.metadata["label"] == "same-label"
