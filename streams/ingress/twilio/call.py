"""One Twilio Media Stream: caller audio in on the media clock, model speech out with marks.

Messages before `start` may only be `connected` (or events this server does not know); the
session id is the `streamSid`. Caller audio must be audio/x-mulaw at 8000 Hz mono, the format of
a bidirectional stream; any other format starts the session and aborts it (close 1003). DTMF
digits become TextEvents (speaker "dtmf") at the session clock, redacted as whole runs; the
configured window key opens a sensitive window (`streams.redaction.dtmf`). Audio received before a
key, frames the jitter buffer held for reordering included, reaches the session clock before the key
takes effect, so a window masks all that was sent inside it (a frame still missing then becomes
silence, and counts as late when it comes). Twilio's `mark` echoes confirm
playback. Model speech goes back as 20 ms mu-law `media` messages, each turn followed by a mark,
and a `clear` precedes the first output after the model stopped speaking while audio was still
unplayed. What the caller heard is recorded as Playback events on the playback topic: `played`
for audio a mark echo confirmed, `cleared` for audio a clear cut (never a TextEvent: the model
must not read its own playback as caller speech).
"""

from __future__ import annotations

from typing import Any

from streams.ingress import errors
from streams.ingress.live import LiveSession
from streams.ingress.live_call import CallStart, LiveCall
from streams.ingress.playback import Step
from streams.ingress.twilio import messages
from streams.ingress.twilio.audio import RATE, InboundAudio, OutboundAudio

ENCODING = "audio/x-mulaw"
"""The only media format taken: G.711 mu-law..."""
CHANNELS = 1
"""...mono, at `RATE` (8000 Hz)."""
DTMF_DIGITS = frozenset("0123456789*#ABCD")
"""Keys a DTMF event may carry."""
MAX_FRAME_MS = 1000
"""Longest media payload taken in one message."""
CALLER_TRACKS = ("inbound", "inbound_track")
"""Track names of the caller's audio; media of any other track is ignored and counted."""
MAX_BEFORE_START = 16
"""Messages (`connected`, unknown events) a peer may send before `start`."""


class TwilioCall(LiveCall):
    """The hooks of `LiveCall` for Twilio Media Streams."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sid = ""
        self._inbound = InboundAudio(self.settings.jitter_frames, self.settings.max_gap_ms, MAX_FRAME_MS * RATE // 1000)
        self._outbound = OutboundAudio()
        self._counts = {"media": 0, "dtmf": 0, "marks": 0, "unknown_marks": 0, "other_tracks": 0, "unknown_events": 0}

    async def open(self) -> CallStart:
        version = ""
        for _ in range(MAX_BEFORE_START):
            raw = await self.receive()
            if isinstance(raw, bytes):
                raise errors.ProtocolError("expected a JSON text message before start; got a binary frame")
            message = messages.parse(raw)
            if isinstance(message, messages.Connected):
                version = message.version
                continue
            if isinstance(message, messages.Unknown):
                self._unknown(message)
                continue
            if not isinstance(message, messages.Start):
                raise errors.ProtocolError(f"expected connected or start first; got {type(message).__name__.lower()}")
            return self._start(message, version)
        raise errors.ProtocolError(f"no start message among the first {MAX_BEFORE_START} messages")

    def _start(self, message: messages.Start, version: str) -> CallStart:
        info = message.start
        self._sid = info.stream_sid
        if not self._sid:
            raise errors.ProtocolError("start message: expected a non-empty start.streamSid")
        if message.stream_sid and message.stream_sid != self._sid:
            raise errors.ProtocolError(
                f"start message: streamSid {message.stream_sid!r} differs from start.streamSid {self._sid!r}"
            )
        fmt = info.media_format
        media = {"encoding": "", "sample_rate": "", "channels": ""}
        if fmt is not None:
            media = {"encoding": fmt.encoding, "sample_rate": str(fmt.sample_rate), "channels": str(fmt.channels)}
        media["session_audio"] = "16 kHz s16 mono: G.711 decode, 2x polyphase FIR upsampling"
        metadata = {
            "ingress": "twilio",
            "stream_sid": self._sid,
            "call_sid": info.call_sid,
            "account_sid": info.account_sid,
            "tracks": ",".join(info.tracks),
            "protocol_version": version,
            "peer": self.peer,
            **{f"param.{name}": value for name, value in sorted(info.custom_parameters.items())},
        }
        refusal = None
        if fmt is None or (fmt.encoding, fmt.sample_rate, fmt.channels) != (ENCODING, RATE, CHANNELS):
            got = "no mediaFormat"
            if fmt is not None:
                got = f"{fmt.encoding} at {fmt.sample_rate} Hz, {fmt.channels} channel(s)"
            refusal = errors.UnsupportedMedia(f"start message: expected {ENCODING} at {RATE} Hz mono; got {got}")
        return CallStart(
            self._sid, f"twilio:{info.call_sid or self._sid}", media, metadata, refusal, {"call_sid": info.call_sid}
        )

    async def on_message(self, message: str | bytes, session: LiveSession) -> bool:
        if isinstance(message, bytes):
            raise errors.ProtocolError("expected JSON text messages; got a binary frame")
        parsed = messages.parse(message)
        if isinstance(parsed, messages.Unknown):
            self._unknown(parsed)
            return False
        if parsed.stream_sid and parsed.stream_sid != self._sid:
            raise errors.ProtocolError(
                f"{parsed.__class__.__name__.lower()} message for stream {parsed.stream_sid!r}; "
                f"this call is {self._sid!r}"
            )
        if isinstance(parsed, messages.Media):
            await self._media(parsed, session)
        elif isinstance(parsed, messages.Dtmf):
            digit = parsed.dtmf.digit
            if digit not in DTMF_DIGITS or len(digit) != 1:
                raise errors.ProtocolError(f"dtmf message: expected one of 0-9 * # A-D; got {digit!r}")
            self._counts["dtmf"] += 1
            await self.flush(session)  # the audio sent before the key is on the session clock before it
            await session.key(digit)
        elif isinstance(parsed, messages.Mark):
            self._counts["marks"] += 1
            if not await self.on_mark(parsed.mark.name, session):
                self._counts["unknown_marks"] += 1
        elif isinstance(parsed, messages.Stop):
            return True
        else:
            raise errors.ProtocolError(f"unexpected {parsed.__class__.__name__.lower()} message during the call")
        return False

    async def _media(self, message: messages.Media, session: LiveSession) -> None:
        media = message.media
        if media.track not in CALLER_TRACKS:
            self._counts["other_tracks"] += 1
            return
        self._counts["media"] += 1
        audio = self._inbound.push(media.timestamp_ms(), message.sequence, media.payload)
        if len(audio):
            await session.audio(audio)

    async def flush(self, session: LiveSession) -> None:
        audio = self._inbound.flush()
        if len(audio):
            await session.audio(audio)

    async def play(self, step: Step) -> None:
        if step.cut is not None:
            await self.websocket.send(messages.clear(self._sid))
            self._outbound.reset()
        if step.audio:
            for payload in self._outbound.frames(step.audio):
                await self.websocket.send(messages.media(self._sid, payload))
            await self.websocket.send(messages.mark(self._sid, step.mark))

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), **self._counts, "jitter": self._inbound.stats.as_dict()}

    def _unknown(self, message: messages.Unknown) -> None:
        self._counts["unknown_events"] += 1
        self.log.info("unknown_event_ignored", event=message.event)
