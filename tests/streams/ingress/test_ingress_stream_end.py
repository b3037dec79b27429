"""The end of a live stream never invents a turn (issue 12, item 15).

A call whose audio ends exactly on a 200 ms boundary has exactly that many turns: its last chunk
is flagged `last`, no empty chunk follows it, and SessionEnded counts what the caller sent.
"""

from __future__ import annotations

import json

import numpy as np

from schemas import Topics
from streams.ingress import TwilioProtocol
from tests.streams.ingress.helpers import TOKEN, closed_with, media, read_sessions, running, stream


async def test_six_seconds_of_twilio_audio_are_thirty_turns_and_the_last_is_flagged(
    kafka_bootstrap: str, topics: Topics
) -> None:
    sid = "MZboundary"
    async with running(
        kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN), drain_timeout_s=0.2, audio_burst_ms=60_000
    ) as server:  # sent faster than real time: the burst allowance covers the whole call
        websocket = await stream(server, sid)
        for i in range(300):  # 300 frames of 20 ms: 6.0 s, exactly 30 turns
            await websocket.send(media(sid, i, bytes([0x80 + i % 64]) * 160))
        await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "400", "streamSid": sid}))
        assert (await closed_with(websocket))[0] == 1000
    record = (await read_sessions(kafka_bootstrap, topics, [sid], timeout_s=20))[sid]

    assert record.ended is not None
    assert (record.ended.turns, record.ended.audio_chunks, record.ended.event_time_ms) == (30, 30, 6000)
    assert [c.seq for c in record.chunks] == list(range(30))
    assert [c.last for c in record.chunks] == [False] * 29 + [True]
    assert all(c.valid_samples == 3200 for c in record.chunks)
    assert len(record.audio()) == 6 * 16_000


async def test_a_stream_ending_mid_turn_still_pads_its_last_chunk(kafka_bootstrap: str, topics: Topics) -> None:
    sid = "MZmidturn"
    async with running(kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN), drain_timeout_s=0.2) as server:
        websocket = await stream(server, sid)
        for i in range(13):  # 260 ms: one full turn and 60 ms of the next
            await websocket.send(media(sid, i, bytes([0x90]) * 160))
        await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "20", "streamSid": sid}))
        await closed_with(websocket)
    record = (await read_sessions(kafka_bootstrap, topics, [sid], timeout_s=20))[sid]

    assert record.ended is not None and (record.ended.turns, record.ended.audio_chunks) == (2, 2)
    assert [(c.valid_samples, c.last) for c in record.chunks] == [(3200, False), (960, True)]
    assert np.count_nonzero(record.audio()) > 0
