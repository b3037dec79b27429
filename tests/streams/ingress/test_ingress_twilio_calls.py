"""Twilio Media Streams calls through the real server, broker, worker and Triton."""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt

from infra.stack import Stack
from schemas import Topics
from streams.ingress import TwilioProtocol, g711, place_call
from streams.ingress.resample import Upsampler
from streams.ingress.twilio.client import mulaw_frames
from tests.streams.ingress.helpers import TOKEN, mulaw, read_sessions, running, talk_and_pause


def expected_session_audio(codes: bytes) -> npt.NDArray[np.int16]:
    """What the server must publish for `codes`: G.711 decode, then the 2x upsampler, in one go."""
    return Upsampler().push(g711.decode(b"".join(mulaw_frames(codes))))


async def test_two_realtime_calls_hear_model_audio_with_marks_and_stay_separate(
    pipeline: Stack, topic_prefix: str, kafka_bootstrap: str
) -> None:
    calls = {"MZalice": mulaw(talk_and_pause(3.0, 300.0)), "MZbob": mulaw(talk_and_pause(3.0, 500.0))}
    async with running(kafka_bootstrap, topic_prefix, TwilioProtocol(TOKEN)) as server:
        url = f"ws://127.0.0.1:{server.port}/media?campaign=test"
        results = await asyncio.gather(
            place_call(
                url,
                TOKEN,
                calls["MZalice"],
                tail_s=1.0,
                stream_sid="MZalice",
                dtmf=[(1.0, "5")],
                parameters={"caller": "+15550001"},
            ),
            place_call(url, TOKEN, calls["MZbob"], tail_s=1.0, stream_sid="MZbob"),
        )
    sessions = await read_sessions(kafka_bootstrap, Topics(topic_prefix), list(calls))

    for result in results:
        assert result.server_closed and result.close_code == 1000, result.close_reason
        assert result.frames_received > 0 and result.frames_received % 10 == 0  # whole 200 ms turns
        assert result.first_frame_ns, "no model audio arrived before a mark"
        assert all(name.startswith("turn-") for name in result.marks)
        assert np.abs(result.heard_audio()).max() > 0
    for sid, codes in calls.items():
        record = sessions[sid]
        assert record.started is not None and record.ended is not None
        assert record.ended.reason == "complete"
        assert [c.seq for c in sorted(record.chunks, key=lambda c: c.seq)] == list(range(record.ended.audio_chunks))
        sent = codes + bytes([g711.SILENCE]) * 8000  # the recording, then the 1 s tail
        assert np.array_equal(record.audio(), expected_session_audio(sent))
    alice = sessions["MZalice"]
    assert alice.started is not None
    assert alice.started.metadata["ingress"] == "twilio"
    assert alice.started.metadata["param.caller"] == "[phone]"  # caller numbers are redacted
    assert alice.started.metadata["call_sid"].startswith("CA")
    assert alice.started.media["encoding"] == "audio/x-mulaw"
    dtmf = [t for t in alice.texts if t.speaker == "dtmf"]
    # held as a run until the default 3 s hold passed without a key (or the call ended), then released
    assert [t.text for t in dtmf] == ["5"] and 900 <= dtmf[0].event_time_ms <= 1100 + 3000
    assert not [t for t in sessions["MZbob"].texts if t.speaker == "dtmf"]
