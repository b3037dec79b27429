"""Bad signatures, malformed messages, wrong encodings, oversized frames, too many calls.

Each is refused as the issue asks: before the upgrade (403/503, no session) or by closing that
call with a reason and recording SessionEnded(aborted); the server keeps serving. These need the
broker and the topics, not the model, so they run without a worker.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from schemas import Topics
from streams.ingress import IngressServer, TwilioProtocol, g711
from streams.ingress.resample import Upsampler
from streams.ingress.twilio.signature import SIGNATURE_HEADER, sign
from tests.streams.ingress.helpers import TOKEN, closed_with, media, read_sessions, running, stream


@pytest.fixture
async def server(kafka_bootstrap: str, topics: Topics) -> AsyncIterator[IngressServer]:
    async with running(
        kafka_bootstrap, topics.prefix, TwilioProtocol(TOKEN), max_message_bytes=4096, max_calls=2, drain_timeout_s=0.5
    ) as srv:
        yield srv


async def test_missing_wrong_or_misdirected_signatures_get_403_before_any_session(
    server: IngressServer, topics: Topics, kafka_bootstrap: str
) -> None:
    url = f"ws://127.0.0.1:{server.port}/calls"
    for headers in (
        {},
        {SIGNATURE_HEADER: "bm90IGEgc2lnbmF0dXJl"},
        {SIGNATURE_HEADER: sign("wrong-token", url)},
        {SIGNATURE_HEADER: sign(TOKEN, url + "/elsewhere")},
    ):
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 403
    assert server.active_calls == 0
    websocket = await stream(server, "MZafter403")  # and a correctly signed call still gets in
    await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "2", "streamSid": "MZafter403"}))
    await closed_with(websocket)
    sessions = await read_sessions(kafka_bootstrap, topics, ["MZafter403"], timeout_s=10)
    assert sessions["MZafter403"].ended is not None


async def test_malformed_json_aborts_that_call_after_publishing_its_audio_and_the_server_goes_on(
    server: IngressServer, topics: Topics, kafka_bootstrap: str
) -> None:
    good = await stream(server, "MZgood")
    bad = await stream(server, "MZbad")
    tone = g711.encode((8000 * np.sin(np.arange(160 * 25) / 5)).astype(np.int16))
    for i in range(25):  # 500 ms: two full turns and a half
        await bad.send(media("MZbad", i, tone[160 * i : 160 * (i + 1)]))
        await good.send(media("MZgood", i, tone[160 * i : 160 * (i + 1)]))
    await bad.send('{"event": "media", "media": {')
    code, reason = await closed_with(bad)
    assert code == 1007 and "JSON" in reason
    await good.send(json.dumps({"event": "stop", "sequenceNumber": "99", "streamSid": "MZgood"}))
    assert (await closed_with(good))[0] == 1000

    sessions = await read_sessions(kafka_bootstrap, topics, ["MZbad", "MZgood"], timeout_s=10)
    bad_end = sessions["MZbad"].ended
    assert bad_end is not None and bad_end.reason == "aborted" and "JSON message" in bad_end.detail
    expected = Upsampler().push(g711.decode(tone))
    assert np.array_equal(sessions["MZbad"].audio(), expected)  # what arrived before the error is kept
    assert sessions["MZgood"].ended is not None and sessions["MZgood"].ended.reason == "complete"
    assert [c.last for c in sessions["MZgood"].chunks] == [False, False, True]


async def test_a_wrong_encoding_starts_and_aborts_the_session_with_close_1003(
    server: IngressServer, topics: Topics, kafka_bootstrap: str
) -> None:
    websocket = await stream(server, "MZl16", {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1})
    code, reason = await closed_with(websocket)
    assert code == 1003 and "audio/x-mulaw" in reason
    record = (await read_sessions(kafka_bootstrap, topics, ["MZl16"], timeout_s=10))["MZl16"]
    assert record.started is not None and record.started.media["encoding"] == "audio/l16"
    assert record.ended is not None and record.ended.reason == "aborted" and "audio/l16" in record.ended.detail


async def test_an_oversized_frame_aborts_the_call_with_close_1009(
    server: IngressServer, topics: Topics, kafka_bootstrap: str
) -> None:
    websocket = await stream(server, "MZbig")
    await websocket.send(media("MZbig", 0, bytes([0xFF]) * 4000))  # base64 of 4000 bytes > 4096 bytes limit
    code, _ = await closed_with(websocket)
    assert code == 1009
    record = (await read_sessions(kafka_bootstrap, topics, ["MZbig"], timeout_s=10))["MZbig"]
    assert record.ended is not None and record.ended.reason == "aborted" and "4096 bytes" in record.ended.detail


async def test_binary_before_start_closes_without_a_session_and_a_third_call_gets_503(server: IngressServer) -> None:
    url = f"ws://127.0.0.1:{server.port}/"
    websocket = await connect(url, additional_headers={SIGNATURE_HEADER: sign(TOKEN, url)})
    await websocket.send(b"\x00\x01")
    code, reason = await closed_with(websocket)
    assert code == 1007 and "binary" in reason
    first, second = await stream(server, "MZone"), await stream(server, "MZtwo")
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, additional_headers={SIGNATURE_HEADER: sign(TOKEN, url)})
    assert refused.value.response.status_code == 503
    for websocket in (first, second):
        await websocket.close()


async def test_frames_out_of_order_and_a_lost_one_land_on_the_media_clock(
    server: IngressServer, topics: Topics, kafka_bootstrap: str
) -> None:
    websocket = await stream(server, "MZjitter")
    frames = [bytes([0x80 + i]) * 160 for i in range(20)]  # frame i: a distinct constant level
    for i in [0, 1, 3, 2, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]:  # 3/2 swapped, 6 lost
        await websocket.send(media("MZjitter", i, frames[i]))
    await websocket.send(json.dumps({"event": "stop", "sequenceNumber": "50", "streamSid": "MZjitter"}))
    await closed_with(websocket)
    record = (await read_sessions(kafka_bootstrap, topics, ["MZjitter"], timeout_s=10))["MZjitter"]
    expected = b"".join(frames[i] if i != 6 else bytes([g711.SILENCE]) * 160 for i in range(20))
    assert np.array_equal(record.audio(), Upsampler().push(g711.decode(expected)))
    assert record.ended is not None and record.ended.audio_chunks == 2  # 400 ms: 2 turns, the second the last
    assert [(c.valid_samples, c.last) for c in record.chunks] == [(3200, False), (3200, True)]
