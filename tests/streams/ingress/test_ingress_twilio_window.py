"""A Twilio sensitive window masks exactly the audio the caller sent while it was open, even audio
the jitter buffer still held when the closing key came (real broker; the chunks are read back)."""

from __future__ import annotations

import json

import numpy as np

from schemas import Topics
from streams.ingress import TwilioProtocol
from tests.streams.ingress.helpers import TOKEN, closed_with, media, mulaw, read_sessions, running, stream

QUIET = mulaw(np.zeros(160, dtype=np.int16))
LOUD = mulaw(np.full(160, 8000, dtype=np.int16))
"""20 ms at 8 kHz: a caller reading out digits."""
TAPS = 48
"""At most this many 16 kHz samples (3 ms) of the window's last sound come out of the upsampler's
filter after the close: its delay, not the caller's words."""


def key(sid: str, digit: str) -> str:
    return json.dumps({"event": "dtmf", "streamSid": sid, "dtmf": {"track": "inbound_track", "digit": digit}})


async def test_audio_held_by_the_jitter_buffer_when_the_window_closes_is_still_masked(
    kafka_bootstrap: str, topics: Topics
) -> None:
    sid = "MZwindowtail"
    async with running(kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN), jitter_frames=3) as server:
        websocket = await stream(server, sid)
        for i in range(10):  # 200 ms before the window
            await websocket.send(media(sid, i, QUIET))
        await websocket.send(key(sid, "*"))
        for i in (11, 12):  # spoken in the window; frame 10 is late, so the jitter buffer holds these two
            await websocket.send(media(sid, i, LOUD))
        await websocket.send(key(sid, "#"))
        await websocket.send(media(sid, 10, LOUD))  # the late frame, sent (spoken) before the closing key
        for i in range(13, 30):
            await websocket.send(media(sid, i, QUIET))
        await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "99", "streamSid": sid}))
        await closed_with(websocket)

    record = (await read_sessions(kafka_bootstrap, topics, [sid]))[sid]
    assert record.ended is not None and record.ended.stats.get("redacted.windows") == "1"
    audio = record.audio()
    assert len(audio) >= 30 * 320 - 320  # the call's 600 ms are there (a late frame may become silence)
    stored = int((np.abs(audio) >= 100).sum())  # before the fix: frames 10-12, 60 ms = 960 samples and more
    assert stored <= TAPS, f"{stored} samples spoken inside the sensitive window were stored"
    assert any(chunk.masked for chunk in record.chunks)
