"""What the ingress tests share: synthetic calls, servers under test, and reading sessions back."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from aiokafka import AIOKafkaConsumer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from schemas import AudioChunk, Event, Playback, SessionEnded, SessionStarted, TextEvent, Topics, decode
from streams.ingress import IngressServer, IngressSettings, g711
from streams.ingress.server import CallProtocol
from streams.ingress.twilio.signature import SIGNATURE_HEADER, sign

TOKEN = "test-auth-token-0123456789abcdef"
"""Auth token (TWILIO_AUTH_TOKEN, MICROTURN_WS_TOKEN) of the servers under test."""


def talk_and_pause(
    seconds: float, freq: float, rate: int = 8000, talk_s: float = 0.6, period_s: float = 1.2
) -> npt.NDArray[np.int16]:
    """A caller who talks (a tone) for `talk_s` of every `period_s`: the seeded model speaks in the pauses."""
    t = np.arange(int(seconds * rate)) / rate
    loud = (t % period_s) < talk_s
    samples: npt.NDArray[np.int16] = (0.4 * 32767 * np.sin(2 * np.pi * freq * t) * loud).astype(np.int16)
    return samples


def mulaw(samples: npt.NDArray[np.int16]) -> bytes:
    return g711.encode(samples)


def write_mulaw_wav(path: Path, samples: npt.NDArray[np.int16]) -> Path:
    """An 8 kHz mono G.711 mu-law WAV of `samples`, the way call recordings are often stored."""
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_mulaw", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


@asynccontextmanager
async def running(
    bootstrap: str, prefix: str, protocol: CallProtocol, **limits: object
) -> AsyncIterator[IngressServer]:
    """An ingress server for `protocol` on a free loopback port, publishing under `prefix`."""
    settings = IngressSettings(bootstrap=bootstrap, topics=Topics(prefix), **limits)  # type: ignore[arg-type]
    async with IngressServer(settings, protocol) as server:
        yield server


@dataclass
class SessionRecord:
    """One session's input events as they are on Kafka."""

    started: SessionStarted | None = None
    ended: SessionEnded | None = None
    chunks: list[AudioChunk] = field(default_factory=list)
    texts: list[TextEvent] = field(default_factory=list)
    playbacks: list[Playback] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """SessionEnded and every audio chunk it counts have been read."""
        return self.ended is not None and len(self.chunks) >= self.ended.audio_chunks

    def audio(self) -> npt.NDArray[np.int16]:
        """The session's valid audio samples, in turn order."""
        ordered = sorted(self.chunks, key=lambda c: c.seq)
        if not ordered:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([np.frombuffer(c.samples, dtype="<i2")[: c.valid_samples] for c in ordered])


async def read_sessions(
    bootstrap: str, topics: Topics, session_ids: list[str], timeout_s: float = 30.0
) -> dict[str, SessionRecord]:
    """Read the input topics from the start until every listed session has its SessionEnded."""
    consumer = AIOKafkaConsumer(
        topics.session,
        topics.audio,
        topics.text,
        topics.playback,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records = {sid: SessionRecord() for sid in session_ids}
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not all(r.complete for r in records.values()) and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                for message in batch:
                    _file(records, decode(message.value or b""))
        for batch in (await consumer.getmany(timeout_ms=300)).values():  # stragglers on the text and playback topics
            for message in batch:
                _file(records, decode(message.value or b""))
    finally:
        await consumer.stop()
    return records


def _file(records: dict[str, SessionRecord], event: Event) -> None:
    record = records.get(event.session_id)
    if record is None:
        return
    if isinstance(event, SessionStarted):
        record.started = event
    elif isinstance(event, SessionEnded):
        record.ended = event
    elif isinstance(event, AudioChunk):
        record.chunks.append(event)
    elif isinstance(event, TextEvent):
        record.texts.append(event)
    elif isinstance(event, Playback):
        record.playbacks.append(event)


MULAW_8K = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}


async def stream(server: IngressServer, sid: str, media_format: dict[str, object] = MULAW_8K) -> ClientConnection:
    """A signed connection that has sent connected and start for stream `sid`."""
    url = f"ws://127.0.0.1:{server.port}/calls?sid={sid}"
    websocket = await connect(url, additional_headers={SIGNATURE_HEADER: sign(TOKEN, url)})
    await websocket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    await websocket.send(
        json.dumps(
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": sid,
                "start": {"streamSid": sid, "callSid": "CA" + sid, "tracks": ["inbound"], "mediaFormat": media_format},
            }
        )
    )
    return websocket


def media(sid: str, index: int, codes: bytes) -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": str(index + 2),
            "streamSid": sid,
            "media": {
                "track": "inbound",
                "chunk": str(index + 1),
                "timestamp": str(20 * index),
                "payload": base64.b64encode(codes).decode(),
            },
        }
    )


async def closed_with(websocket: ClientConnection) -> tuple[int | None, str]:
    """Wait for the server to close the call; its close code and reason."""
    with pytest.raises(ConnectionClosed):
        while True:
            await websocket.recv()
    return websocket.close_code, websocket.close_reason or ""
