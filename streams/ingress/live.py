"""Publishing one live call as a session: audio as it arrives, text at the session clock, the end.

A live session has no file to probe and no end to look ahead to, so it differs from
`streams.publish.SessionPublisher` in three ways: audio chunk k is sent as soon as its 3200th
sample arrived and it is known not to be the last (no look-ahead of a turn); text events are
stamped with the session clock *now*, i.e. the audio received so far; and the end is only known
when the call ends. Then the partial last turn is padded and flagged `last`.

Ending on a turn boundary: when the audio received so far fills its last turn exactly, that
chunk is held until more audio arrives (it is then sent as an ordinary chunk) or the call ends
(it is then sent flagged `last`). Without the hold, a call whose audio stops on a boundary would
need an extra, empty chunk to mark its end, and the session would get one turn (200 ms) its
caller never spoke. The hold costs one of the peer's frames of latency on turns that end exactly
where a frame ends, and nothing on the others. On Twilio (20 ms frames, ten to a turn) that is
every turn: each turn closes 20 ms later than it would without the hold.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import structlog

from schemas import AudioChunk, Playback, SessionEnded, SessionStarted, TextEvent
from schemas.envelope import Stamper
from schemas.events import EndReason
from streams.ingress.limits import AudioLimit
from streams.media import CHUNK_SAMPLES, SAMPLE_RATE, TURN_MS, AudioChunker, AudioPiece
from streams.producer import EventProducer
from streams.redaction import Redactor, SessionRedaction

log = structlog.get_logger(__name__)


class LiveSession:
    """The events of one live session, sent as the call goes; `start` once, `end` once."""

    def __init__(
        self,
        producer: EventProducer,
        session_id: str,
        producer_name: str,
        limit: AudioLimit | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        """`limit`: checked before each piece of audio is published (pace and call length);
        `redactor`: what text, keys and metadata pass before they are published (default rules if None)."""
        self.session_id = session_id
        self.redaction = SessionRedaction(redactor or Redactor())
        """Redaction of this session's text, keys and metadata, its sensitive window and counts."""
        self._masked_turns: set[int] = set()
        self._limit = limit
        self._out = producer
        self._topics = producer.topics
        self._stamper = Stamper(producer_name, session_id)
        self._chunker = AudioChunker()
        self._held: AudioPiece | None = None
        self._audio_chunks = 0
        self._texts = 0
        self._playbacks = 0
        self._started = False
        self._ended = False

    @property
    def clock_ms(self) -> int:
        """The session clock now: milliseconds of audio received so far."""
        return self._chunker.samples_in * 1000 // SAMPLE_RATE

    @property
    def audio_chunks(self) -> int:
        """AudioChunks sent so far."""
        return self._audio_chunks

    @property
    def ended(self) -> bool:
        """True once `end` ran."""
        return self._ended

    def _envelope(self, stream: str, seq: int, time_ms: int, turn: int | None) -> dict[str, Any]:
        return self._stamper.stamp(stream, seq, time_ms, turn)

    async def start(self, source: str, media: dict[str, str], metadata: dict[str, str]) -> None:
        """Send SessionStarted; called once, after the caller's output subscription is in place."""
        self._started = True
        await self._out.send(
            self._topics.session,
            SessionStarted(
                **self._envelope("session", 0, 0, None),
                source=source,
                has_audio=True,
                has_video=False,
                media=media,
                metadata=self.redaction.metadata(metadata),
            ),
        )

    async def audio(self, samples: npt.NDArray[np.int16]) -> None:
        """Append 16 kHz mono samples to the session; every turn they complete is sent at once.

        Except a turn completed by the last of these samples: it is held until more audio comes
        or the session ends (see the module docstring).
        """
        if not len(samples):
            return
        if self._limit is not None:  # TooFast / CallTooLong: none of these samples is published
            self._limit.check((self._chunker.samples_in + len(samples)) * 1000 // SAMPLE_RATE)
        await self._texts_out(self.redaction.keys(self.redaction.dtmf.tick(self.clock_ms)), "dtmf")
        if self.redaction.window.active(self.clock_ms):  # stored as silence; its chunks are flagged
            first = self._chunker.samples_in // CHUNK_SAMPLES
            self._masked_turns.update(range(first, (self._chunker.samples_in + len(samples) - 1) // CHUNK_SAMPLES + 1))
            samples = np.zeros_like(samples)
        pieces = self._chunker.push(samples)
        if self._held is not None:
            pieces.insert(0, self._held)
            self._held = None
        if pieces and self._chunker.samples_in % CHUNK_SAMPLES == 0:  # on a boundary: it may be the last
            self._held = pieces.pop()
        for piece in pieces:
            await self._send_chunk(piece)

    async def text(self, text: str, speaker: str) -> None:
        """Send a text event at the current session clock (it joins the turn still open), redacted.

        Ignored once the session ended: nothing may follow its SessionEnded.
        """
        if self._ended:
            return
        await self._text(self.redaction.text(text, self.clock_ms), speaker)

    async def key(self, key: str) -> None:
        """A DTMF key pressed now: held, redacted as part of its run, or swallowed by a sensitive
        window (see `streams.redaction.dtmf`); what is released is sent as text of speaker "dtmf"."""
        if self._ended:
            return
        await self._texts_out(self.redaction.keys(self.redaction.dtmf.key(key, self.clock_ms)), "dtmf")

    def sensitive(self, on: bool) -> None:
        """Open (`on`) or close the session's sensitive window at the current session clock."""
        if on:
            self.redaction.window.open(self.clock_ms)
        else:
            self.redaction.window.close()

    async def _texts_out(self, texts: list[str], speaker: str) -> None:
        for text in texts:
            await self._text(text, speaker)

    async def _text(self, text: str, speaker: str) -> None:
        """Send an already redacted text event at the current session clock."""
        if self._ended:
            return
        now = self.clock_ms
        seq = self._texts
        self._texts += 1
        await self._out.send(
            self._topics.text,
            TextEvent(
                **self._envelope("text", seq, now, now // TURN_MS),
                text=text,
                speaker=speaker,
            ),
        )

    async def playback(
        self, kind: Literal["played", "cleared"], turns: tuple[int, ...], audio_ms: int, at_turn: int = -1
    ) -> None:
        """Record what became of the model's speech (a Playback event at the session clock now).

        On the playback topic, never the model's input. Ignored once the session ended, like
        text: nothing of a session follows its SessionEnded (audio played while the call drains
        is therefore not recorded).
        """
        if self._ended:
            return
        now = self.clock_ms
        seq = self._playbacks
        self._playbacks += 1
        await self._out.send(
            self._topics.playback,
            Playback(
                **self._envelope("playback", seq, now, now // TURN_MS),
                kind=kind,
                turns=turns,
                audio_ms=audio_ms,
                at_turn=at_turn,
            ),
        )

    async def end(self, reason: EndReason, detail: str = "") -> None:
        """Send the padded last chunk (if any) and SessionEnded, and wait for the broker's acks.

        Called once, whatever ended the call; later calls do nothing. Raises the producer's
        StreamsError when the broker is unreachable: the session then stays open in the log.
        """
        if self._ended or not self._started:
            self._ended = True
            return
        released = self.redaction.keys(self.redaction.dtmf.finish(self.clock_ms))
        await self._texts_out(released, "dtmf")
        self._ended = True
        pieces = self._chunker.finish()
        if self._held is not None:  # the audio ended on a turn boundary: the held chunk is the last
            pieces = [dataclasses.replace(self._held, last=True)]
            self._held = None
        for piece in pieces:
            await self._send_chunk(piece)
        turns = self._audio_chunks
        await self._out.send(
            self._topics.session,
            SessionEnded(
                **self._envelope("session", 1, turns * TURN_MS, None),
                reason=reason,
                turns=turns,
                audio_chunks=self._audio_chunks,
                detail=self.redaction.redactor.text(detail),  # it may quote what the peer sent
                stats=self.redaction.stats(),
            ),
        )
        await self._out.flush()
        log.info("session_ended", session_id=self.session_id, reason=reason, turns=turns)

    async def _send_chunk(self, piece: AudioPiece) -> None:
        self._audio_chunks += 1
        masked = piece.turn in self._masked_turns
        if masked:
            self._masked_turns.discard(piece.turn)
            self.redaction.masked_chunk()
        await self._out.send(
            self._topics.audio,
            AudioChunk(
                **self._envelope("audio", piece.turn, piece.start_ms, piece.turn),
                samples=piece.pcm_bytes(),
                valid_samples=piece.valid_samples,
                last=piece.last,
                masked=masked,
            ),
        )
