"""A Twilio Media Streams caller without a phone: `microturn call`, the tests and the benchmark.

`place_call` plays the caller's mu-law audio into a server exactly as Twilio would (signed
upgrade request, `connected`, `start`, one `media` message per 20 ms in real time, `dtmf`, `stop`)
and plays back what the server sends like Twilio's media buffer: one 20 ms frame per 20 ms of
wall time, each `mark` echoed when the audio queued before it has played, and a `clear` dropping
what is queued (echoing its marks). What was played lands in `CallResult.heard`, on the call's
timeline (silence where nothing played), ready to be written as a WAV.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from streams.ingress import g711
from streams.ingress.errors import IngressClientError
from streams.ingress.resample import Downsampler
from streams.ingress.twilio.audio import FRAME_SAMPLES, RATE
from streams.ingress.twilio.ear import MediaBuffer
from streams.ingress.twilio.result import CallResult
from streams.ingress.twilio.signature import SIGNATURE_HEADER, sign

FRAME_S = FRAME_SAMPLES / RATE
"""Seconds per 20 ms frame."""


def mulaw_frames(codes: bytes) -> list[bytes]:
    """`codes` cut into 160-byte frames, the last one padded with mu-law silence."""
    frames = [codes[i : i + FRAME_SAMPLES] for i in range(0, len(codes), FRAME_SAMPLES)]
    if frames and len(frames[-1]) < FRAME_SAMPLES:
        frames[-1] = frames[-1] + bytes([g711.SILENCE]) * (FRAME_SAMPLES - len(frames[-1]))
    return frames


def caller_audio(path: Path) -> bytes:
    """The mu-law 8 kHz bytes to send for the recording at `path`.

    A mono 8 kHz mu-law file is sent as stored; anything else PyAV reads is decoded to 16 kHz
    (`streams.media`), decimated to 8 kHz and encoded. MediaError for what cannot be decoded.
    """
    import av

    from streams.media import AudioPiece, open_media

    with contextlib.suppress(av.error.FFmpegError, IndexError), av.open(str(path)) as container:
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if ctx.name == "pcm_mulaw" and ctx.sample_rate == RATE and ctx.channels == 1:
            return b"".join(bytes(packet) for packet in container.demux(stream))
    source = open_media(path)
    pieces = [p for p in source.pieces() if isinstance(p, AudioPiece)]
    pcm = np.concatenate([p.samples[: p.valid_samples] for p in pieces]) if pieces else np.zeros(0, np.int16)
    if len(pcm) % 2:
        pcm = np.append(pcm, np.int16(0))
    return g711.encode(Downsampler().push(pcm))


async def place_call(
    url: str,
    auth_token: str,
    codes: bytes,
    *,
    tail_s: float = 2.0,
    dtmf: Sequence[tuple[float, str]] = (),
    parameters: Mapping[str, str] | None = None,
    stream_sid: str | None = None,
    linger_s: float = 20.0,
) -> CallResult:
    """Play `codes` (mu-law 8 kHz) into the server at `url` as one Twilio stream, in real time.

    `tail_s` of silence follows the recording (the caller listening), then `stop`; the call then
    keeps playing what arrives until the server closes, at most `linger_s` more. `dtmf` lists
    (seconds, digit) key presses. Raises IngressClientError when the server refuses the
    connection (e.g. HTTP 403 for a bad signature).
    """
    sid = stream_sid or "MZ" + uuid.uuid4().hex
    call_sid = "CA" + uuid.uuid4().hex
    result = CallResult(sid)
    frames = mulaw_frames(codes) + mulaw_frames(bytes([g711.SILENCE]) * int(tail_s * RATE))
    headers = {SIGNATURE_HEADER: sign(auth_token, url)}
    try:
        websocket = await connect(url, additional_headers=headers, compression=None, max_size=2**20)
    except InvalidStatus as exc:
        raise IngressClientError(f"the server refused the call: HTTP {exc.response.status_code}") from exc
    except OSError as exc:
        raise IngressClientError(f"cannot connect to {url}: {exc}") from exc
    ear = MediaBuffer(result)
    plan = _Plan(sid, call_sid, frames, sorted(dtmf), dict(parameters or {}))
    async with websocket:
        sender = asyncio.create_task(_send(websocket, plan, result))
        echo = _Echo(websocket, sid, sender)
        player = asyncio.create_task(_play(ear, echo))
        try:
            result.server_closed = await _receive(websocket, ear, echo, sender, linger_s)
        finally:
            for task in (sender, player):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await task
        ear.drain()
    result.close_code = websocket.close_code
    result.close_reason = websocket.close_reason or ""
    return result


class _Echo:
    """Sends mark echoes while the call is on (after `stop`, Twilio sends nothing more)."""

    def __init__(self, websocket: ClientConnection, sid: str, sender: asyncio.Task[None]) -> None:
        self._websocket = websocket
        self._sid = sid
        self._sender = sender

    async def __call__(self, names: list[str]) -> None:
        for name in names:
            if self._sender.done():
                return
            await self._websocket.send(json.dumps({"event": "mark", "streamSid": self._sid, "mark": {"name": name}}))


@dataclass(frozen=True)
class _Plan:
    """What the caller sends."""

    sid: str
    call_sid: str
    frames: list[bytes]
    dtmf: list[tuple[float, str]]
    parameters: dict[str, str]


async def _send(websocket: ClientConnection, plan: _Plan, result: CallResult) -> None:
    sid, call_sid, frames = plan.sid, plan.call_sid, plan.frames
    seq = 0

    def message(event: str, **body: object) -> str:
        nonlocal seq
        seq += 1
        return json.dumps({"event": event, "sequenceNumber": str(seq), "streamSid": sid, **body})

    await websocket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    await websocket.send(
        message(
            "start",
            start={
                "streamSid": sid,
                "accountSid": "AC" + "0" * 32,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": plan.parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
            },
        )
    )
    keys = list(plan.dtmf)
    started = time.monotonic()
    for index, frame in enumerate(frames):
        await _sleep_until(started + index * FRAME_S)
        while keys and keys[0][0] <= index * FRAME_S:
            await websocket.send(message("dtmf", dtmf={"track": "inbound_track", "digit": keys.pop(0)[1]}))
        payload = base64.b64encode(frame).decode()
        await websocket.send(
            message(
                "media",
                media={
                    "track": "inbound",
                    "chunk": str(index + 1),
                    "timestamp": str(index * 20),
                    "payload": payload,
                },
            )
        )
        result.sent_ns.append(time.time_ns())
    await _sleep_until(started + len(frames) * FRAME_S)
    await websocket.send(message("stop", stop={"accountSid": "AC" + "0" * 32, "callSid": call_sid}))


async def _play(ear: MediaBuffer, echo: _Echo) -> None:
    started = time.monotonic()
    tick = 0
    while True:
        await _sleep_until(started + tick * FRAME_S)
        tick += 1
        await echo(ear.tick())


async def _receive(
    websocket: ClientConnection, ear: MediaBuffer, echo: _Echo, sender: asyncio.Task[None], linger_s: float
) -> bool:
    """Take the server's messages until it closes (True) or `linger_s` after stop passed (False)."""
    deadline: float | None = None
    try:
        while True:
            if deadline is None and sender.done():
                sender.result()  # re-raise a sender failure
                deadline = time.monotonic() + linger_s
            timeout = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
            if deadline is not None and timeout == 0:
                return False
            try:
                raw = await asyncio.wait_for(websocket.recv(), timeout)
            except TimeoutError:
                continue
            message = json.loads(raw)
            event = message.get("event")
            if event == "media":
                ear.frame(message["media"]["payload"], time.time_ns())
            elif event == "mark":
                await echo(ear.mark(message["mark"]["name"]))
            elif event == "clear":
                await echo(ear.clear())
    except ConnectionClosed:
        return True


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
