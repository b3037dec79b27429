"""Publishing one session from a media source: SessionStarted, the turn events, SessionEnded.

Events of turn k are sent in the order text, video, audio, so that the audio chunk, which closes
turn k in the assembler, comes after everything else of that turn. The last audio chunk is held
back one step so it can be flagged `last`. A source that breaks midway ends the session
`truncated` after publishing everything that decoded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas import AudioChunk, SessionEnded, SessionStarted, TextEvent, Topics, VideoFrame
from schemas.codec import session_key
from schemas.envelope import Stamper
from schemas.events import EndReason
from schemas.ids import check_session_id
from streams.errors import PublishError, SessionExists
from streams.kafka_security import aiokafka_options
from streams.log import session_partition
from streams.media import TURN_MS, AudioPiece, MediaSource, TextLine, VideoPiece, open_media
from streams.media.errors import TruncatedStream
from streams.producer import EventProducer, producer_id
from streams.redaction import Redactor, SessionRedaction


@dataclass(frozen=True)
class StreamSummary:
    """What `microturn stream` published for one session."""

    session_id: str
    """The session's id."""
    status: EndReason
    """How the session ended: complete, truncated or aborted."""
    audio_chunks: int
    """AudioChunk events sent."""
    video_frames: int
    """VideoFrame events sent."""
    text_events: int
    """TextEvent events sent."""
    duration_ms: int
    """Session-clock length of what was sent."""
    detail: str = ""
    """Why the session was truncated or aborted."""

    def as_dict(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "status": self.status,
            "audio_chunks": self.audio_chunks,
            "video_frames": self.video_frames,
            "text_events": self.text_events,
            "duration_ms": self.duration_ms,
            **({"detail": self.detail} if self.detail else {}),
        }


class SessionPublisher:
    """Turns one session's media pieces and text lines into events on Kafka."""

    def __init__(
        self,
        producer: EventProducer,
        session_id: str,
        producer_name: str,
        realtime: bool = False,
        metadata: Mapping[str, str] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        """`metadata` goes into SessionStarted.metadata (e.g. "model": the Triton model to run on);
        it and the text lines pass `redactor` (the default rules when None) before they are sent."""
        self._out = producer
        self._redaction = SessionRedaction(redactor or Redactor())
        self._metadata = self._redaction.metadata(metadata or {})
        self._topics = producer.topics
        self.session_id = session_id
        self._stamper = Stamper(producer_name, session_id)
        self._realtime = realtime
        self._counts = {"audio": 0, "video": 0, "text": 0}
        self._turns = 0

    def _envelope(self, stream: str, seq: int, time_ms: int, turn: int | None) -> dict[str, Any]:
        return self._stamper.stamp(stream, seq, time_ms, turn)

    async def publish(
        self,
        source: MediaSource,
        texts: Iterable[TextLine] = (),
        on_turn: Callable[[int], None] | None = None,
    ) -> StreamSummary:
        """Publish the whole session; returns its summary once the broker acknowledged it all."""
        lines = sorted(texts, key=lambda line: line.time_ms)
        await self._out.send(
            self._topics.session,
            SessionStarted(
                **self._envelope("session", 0, 0, None),
                source=str(source.path),
                has_audio=source.has_audio,
                has_video=source.has_video,
                media={k: str(v) for k, v in source.describe().items()},
                metadata=self._metadata,
            ),
        )
        status: EndReason = "complete"
        detail = ""
        held: AudioPiece | None = None
        started = time.monotonic()
        text_iter = iter(lines)
        next_line = next(text_iter, None)
        try:
            for piece in source.pieces():
                turn = piece.turn
                if turn >= self._turns:
                    self._turns = turn + 1
                    if self._realtime:
                        await _sleep_until(started + turn * TURN_MS / 1000)
                    if on_turn is not None:
                        on_turn(turn)
                while next_line is not None and next_line.time_ms < (turn + 1) * TURN_MS:
                    await self._text(next_line)
                    next_line = next(text_iter, None)
                if isinstance(piece, VideoPiece):
                    await self._video(piece)
                else:
                    if held is not None:
                        await self._audio(held, last=False)
                    held = piece
        except TruncatedStream as exc:
            status, detail = "truncated", str(exc)
        if held is not None:
            await self._audio(held, last=True)
        while next_line is not None:
            await self._text(next_line)
            next_line = next(text_iter, None)
        duration = self._turns * TURN_MS
        await self._out.send(
            self._topics.session,
            SessionEnded(
                **self._envelope("session", 1, duration, None),
                reason=status,
                turns=self._turns,
                audio_chunks=self._counts["audio"],
                detail=detail,
                stats=self._redaction.stats(),
            ),
        )
        await self._out.flush()
        return StreamSummary(
            self.session_id,
            status,
            self._counts["audio"],
            self._counts["video"],
            self._counts["text"],
            duration,
            detail,
        )

    async def _audio(self, piece: AudioPiece, last: bool) -> None:
        self._counts["audio"] += 1
        await self._out.send(
            self._topics.audio,
            AudioChunk(
                **self._envelope("audio", piece.turn, piece.turn * TURN_MS, piece.turn),
                samples=piece.samples.astype("<i2").tobytes(),
                valid_samples=piece.valid_samples,
                last=last,
            ),
        )

    async def _video(self, piece: VideoPiece) -> None:
        self._counts["video"] += 1
        await self._out.send(
            self._topics.video,
            VideoFrame(
                **self._envelope("video", piece.turn, piece.turn * TURN_MS, piece.turn),
                jpeg=piece.jpeg,
                width=piece.width,
                height=piece.height,
                source_pts_ms=piece.source_pts_ms,
            ),
        )

    async def _text(self, line: TextLine) -> None:
        seq = self._counts["text"]
        self._counts["text"] += 1
        await self._out.send(
            self._topics.text,
            TextEvent(
                **self._envelope("text", seq, line.time_ms, line.time_ms // TURN_MS),
                text=self._redaction.text(line.text, line.time_ms),
                speaker=self._redaction.speaker(getattr(line, "speaker", "caller") or "caller"),
            ),
        )


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def session_exists(bootstrap: str, topics: Topics, session_id: str) -> bool:
    """Whether the session topic holds any record keyed `session_id` (read up to its end now).

    Only the key's partition is read (the producer's default partitioner places it); a topic
    that does not exist yet holds no session.
    """
    key = session_key(session_id)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", **aiokafka_options()
    )
    try:
        await consumer.start()
        if topics.session not in await consumer.topics():
            return False
        tp = TopicPartition(topics.session, session_partition(session_id, topics.partitions))
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        while end > 0:  # fetch first, then ask the position (as streams.log.read_topics does)
            batches = await consumer.getmany(tp, timeout_ms=1000)
            if any(r.key == key and r.offset < end for r in batches.get(tp, [])):
                return True
            if await consumer.position(tp) >= end:
                break
        return False
    except KafkaError as exc:
        raise PublishError(f"cannot check whether session {session_id} exists: {exc}") from exc
    finally:
        await consumer.stop()


async def publish_file(
    bootstrap: str,
    topics: Topics,
    path: Path,
    session_id: str,
    realtime: bool = False,
    texts: Iterable[TextLine] = (),
    on_turn: Callable[[int], None] | None = None,
    new_session: bool = False,
    metadata: Mapping[str, str] | None = None,
    redactor: Redactor | None = None,
) -> StreamSummary:
    """Publish the media file at `path` as session `session_id`.

    Everything is checked before anything is sent: the session id (InvalidSessionId), the file
    (probed; MediaError) and, with `new_session`, that the log holds no session of that id yet
    (SessionExists); each publishes nothing. A file that breaks midway publishes what decoded and
    ends `truncated`. Text and metadata pass `redactor` (the default rules when None).
    """
    check_session_id(session_id)
    source = open_media(path)
    if new_session and await session_exists(bootstrap, topics, session_id):
        raise SessionExists(
            f"session {session_id} already exists in {topics.session}; choose another id (or leave --session out)"
        )
    async with EventProducer(bootstrap, topics) as producer:
        publisher = SessionPublisher(
            producer, session_id, producer_id("stream"), realtime=realtime, metadata=metadata, redactor=redactor
        )
        return await publisher.publish(source, texts, on_turn=on_turn)
