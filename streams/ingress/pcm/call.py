"""One PCM WebSocket call: 16 kHz s16le binary frames in, every model output pushed back.

The session clock is the count of samples received (TCP keeps them in order, so there is no
jitter buffer). See `streams.ingress.pcm.messages` for the protocol.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from schemas.events import EndReason
from streams.ingress import errors
from streams.ingress.live import LiveSession
from streams.ingress.live_call import CallStart, LiveCall
from streams.ingress.pcm import messages
from streams.ingress.playback import Step
from streams.media import SAMPLE_RATE

ENCODING = "s16le"
"""The only PCM encoding taken, at SAMPLE_RATE (16 kHz), mono."""


class PcmCall(LiveCall):
    """The hooks of `LiveCall` for the PCM WebSocket protocol."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counts = {"audio_frames": 0, "audio_bytes": 0, "texts": 0, "marks": 0, "unknown_marks": 0, "sensitive": 0}

    async def open(self) -> CallStart:
        raw = await self.receive()
        if isinstance(raw, bytes):
            raise errors.ProtocolError("expected a start message first; got a binary frame")
        start = messages.parse(raw)
        if not isinstance(start, messages.Start):
            raise errors.ProtocolError(f"expected a start message first; got {type(start).__name__.lower()}")
        if start.session_id is not None:
            raise errors.SessionRefused(
                "start message: session ids are assigned by the server (see the `started` message); "
                f"got session_id {start.session_id[:40]!r}: send your reference as `label`"
            )
        if start.label and not messages.LABEL.fullmatch(start.label):
            raise errors.ProtocolError(f"start message: label must match {messages.LABEL.pattern}; got {start.label!r}")
        session_id = f"ws-{uuid.uuid4().hex}"
        media = {"encoding": start.encoding, "sample_rate": str(start.sample_rate), "channels": str(start.channels)}
        refusal = None
        if (start.encoding, start.sample_rate, start.channels) != (ENCODING, SAMPLE_RATE, 1):
            refusal = errors.UnsupportedMedia(
                f"start message: expected {ENCODING} at {SAMPLE_RATE} Hz mono; "
                f"got {start.encoding} at {start.sample_rate} Hz, {start.channels} channel(s)"
            )
        metadata = {**start.metadata, "ingress": "ws", "peer": self.peer}
        if start.label:
            metadata["label"] = start.label
        return CallStart(session_id, f"ws:{self.peer}", media, metadata, refusal)

    async def on_message(self, message: str | bytes, session: LiveSession) -> bool:
        if isinstance(message, bytes):
            if len(message) % 2:
                raise errors.ProtocolError(f"binary frame: expected whole 16-bit samples; got {len(message)} bytes")
            self._counts["audio_frames"] += 1
            self._counts["audio_bytes"] += len(message)
            if message:
                await session.audio(np.frombuffer(message, dtype="<i2").astype(np.int16))
            return False
        parsed = messages.parse(message)
        if isinstance(parsed, messages.Text):
            self._counts["texts"] += 1
            await session.text(parsed.text, speaker="caller")
        elif isinstance(parsed, messages.Mark):
            self._counts["marks"] += 1
            if not await self.on_mark(parsed.name, session):
                self._counts["unknown_marks"] += 1
        elif isinstance(parsed, messages.Sensitive):
            self._counts["sensitive"] += 1
            session.sensitive(parsed.on)
        elif isinstance(parsed, messages.Stop):
            return True
        else:
            raise errors.ProtocolError("a second start message during the call")
        return False

    async def flush(self, session: LiveSession) -> None:
        """Nothing is held: every sample went to the session as it arrived."""

    async def play(self, step: Step) -> None:
        if step.cut is not None:
            await self.websocket.send(messages.clear(step.cut))
        await self.websocket.send(messages.output(step.output, audio=bool(step.audio)))
        if step.audio:
            await self.websocket.send(step.audio)
            await self.websocket.send(messages.mark(step.mark))

    async def started(self, start: CallStart) -> None:
        await self.websocket.send(messages.started(start.session_id))

    async def ended(self, reason: EndReason, detail: str) -> None:
        await self.websocket.send(messages.ended(reason, detail))

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), **self._counts}
