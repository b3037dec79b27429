"""Every microturn event type, defined once.

Events are immutable msgspec Structs. The `schema` tag names the type on the wire; adding a field
with a default is a compatible change (older events decode with the default), anything else needs
a new `SCHEMA_VERSION`.
"""

from __future__ import annotations

from typing import Literal

from schemas.clock import TURN_SAMPLES
from schemas.envelope import Event

ACTIONS = ("LISTEN", "SPEAK", "BACKCHANNEL", "DELEGATE")
"""The model's actions, by the index the model returns in `ACTION`."""

EndReason = Literal["complete", "truncated", "aborted"]
TurnClose = Literal["audio", "video", "ticker", "end"]


class SessionStarted(Event, frozen=True, tag="session_started"):
    """A session begins: where it comes from and how it is configured."""

    source: str = ""
    """Where the media came from: a file path, a call id, a WebSocket peer."""
    has_audio: bool = True
    """Whether the session carries an audio stream (audio is then the turn clock)."""
    has_video: bool = False
    """Whether the session carries a video stream."""
    media: dict[str, str] = {}
    """What the source was (container, codecs, original rate and channels), as text."""
    metadata: dict[str, str] = {}
    """Free-form call metadata (caller, campaign, custom parameters)."""


class SessionEnded(Event, frozen=True, tag="session_ended"):
    """A session is over; no more input events follow for it."""

    reason: EndReason = "complete"
    """complete: all input was sent; truncated: the input broke midway; aborted: stopped early."""
    turns: int = 0
    """How many micro-turns of input the session had."""
    audio_chunks: int = 0
    """How many AudioChunks the session sent; the assembler waits for all of them before the end."""
    detail: str = ""
    """Why it ended that way, for humans (empty when complete)."""
    stats: dict[str, str] = {}
    """Counters of the session's ingest (e.g. frames late, reordered, gaps filled with silence)."""


class AudioChunk(Event, frozen=True, tag="audio_chunk"):
    """Exactly the audio of turn `turn`: 3200 samples of 16 kHz mono s16, little endian."""

    samples: bytes
    """6400 bytes of int16 little-endian PCM."""
    valid_samples: int = TURN_SAMPLES
    """How many of the samples are real audio; the rest is silence padding (last chunk only)."""
    last: bool = False
    """True on the session's final audio chunk."""
    masked: bool = False
    """True when (some of) the turn's audio fell in a sensitive window and is stored as silence."""


class VideoFrame(Event, frozen=True, tag="video_frame"):
    """The frame of turn `turn`: the latest source frame at or before the turn's start, as JPEG."""

    jpeg: bytes
    """The frame, resized to the model's input size, JPEG-encoded."""
    width: int
    """Width in pixels of the encoded frame."""
    height: int
    """Height in pixels of the encoded frame."""
    source_pts_ms: int = 0
    """Presentation time of the source frame on the session clock."""


class TextEvent(Event, frozen=True, tag="text_event"):
    """A piece of text at a point of the session clock (chat, transcript line, DTMF digit)."""

    text: str
    """The text itself."""
    speaker: str = "caller"
    """Who wrote or said it."""


class Playback(Event, frozen=True, tag="playback"):
    """What became of the model's speech in a live call: played to the caller, or cut before it was.

    Recorded by the live ingress on its own topic (`Topics.playback`), never an input of the model:
    it says what the caller actually heard. Audio confirmed by the carrier's mark echo is `played`;
    audio dropped from the carrier's buffer by a barge-in `clear` is `cleared`. `turn` and
    `event_time_ms` are the session clock when it happened.
    """

    kind: Literal["played", "cleared"]
    """played: the carrier confirmed these turns' audio was heard; cleared: it was dropped unheard."""
    turns: tuple[int, ...]
    """The output turns whose audio this is about, oldest first."""
    audio_ms: int
    """Milliseconds of model audio those turns held (for a clear: at most this much was cut)."""
    at_turn: int = -1
    """For a clear: the output turn whose silence stopped the speech; -1 for `played`."""


class MicroTurn(Event, frozen=True, tag="micro_turn"):
    """Exactly what the model saw at turn `turn`: replaying these reproduces the outputs."""

    audio: bytes | None = None
    """The turn's 6400 bytes of PCM, or None for a turn without audio."""
    video: bytes | None = None
    """The turn's JPEG frame, or None."""
    text: str = ""
    """Text events of the turn, joined by newlines in event-time order."""
    background: str = ""
    """Background results delivered in this turn, joined by newlines."""
    event_ids: tuple[str, ...] = ()
    """Ids of every input event included, in the order they were applied."""
    late_event_ids: tuple[str, ...] = ()
    """Ids of included events whose own turn had already closed."""
    closed_by: TurnClose = "audio"
    """What closed the turn: its audio chunk, the next video frame (no audio), the ticker (neither), or the end."""
    final: bool = False
    """True on the session's last turn: the model sequence ends with it."""
    ingest_wall_time_ns: int = 0
    """Latest wall time at which an included input was produced; latency is measured from it."""


class ModelOutput(Event, frozen=True, tag="model_output"):
    """The model's answer to turn `turn`."""

    action: str
    """One of ACTIONS."""
    text: str = ""
    """Text the model says or writes this turn."""
    audio: bytes = b""
    """6400 bytes of int16 PCM the model speaks this turn (silence when not speaking)."""
    delegate: str = ""
    """The task handed to the background agent when action is DELEGATE."""
    model_version: str = ""
    """Name and weight digest of the model that produced this output."""
    input_wall_time_ns: int = 0
    """Wall time the turn's latest input was produced (copied from the MicroTurn)."""
    model_ms: float = 0.0
    """Time spent in the Triton request, in milliseconds."""
    final: bool = False
    """True on the session's last output (its turn ended the model sequence)."""
    redaction: str = ""
    """Digest of the redaction rules `text` and `delegate` passed ("" for none): replay applies the same."""


class BackgroundTask(Event, frozen=True, tag="background_task"):
    """Slow work the model delegated, with the context the agent needs."""

    task_id: str
    """Deterministic id of the task (from the session and the delegating turn)."""
    task: str
    """What the model asked for."""
    context: dict[str, str] = {}
    """The context package: recent conversation, recent outputs, elapsed time."""


class BackgroundResult(Event, frozen=True, tag="background_result"):
    """The agent's answer to a task; an input to a later turn."""

    task_id: str
    """The task this answers."""
    result: str
    """The answer, as text the model reads."""
    tool: str = ""
    """Which tool produced it."""
    status: Literal["ok", "error", "timeout"] = "ok"
    """How the task ended."""


class DeadLetter(Event, frozen=True, tag="dead_letter"):
    """A record that could not be processed, kept with the reason."""

    source_topic: str
    """Topic the record came from."""
    source_partition: int
    """Its partition."""
    source_offset: int
    """Its offset."""
    reason: str
    """What was expected and what arrived."""
    raw_key: bytes | None = None
    """The record's key, as received."""
    raw_value: bytes | None = None
    """The record's value, as received."""


ANY_EVENT = (
    SessionStarted
    | SessionEnded
    | AudioChunk
    | VideoFrame
    | TextEvent
    | Playback
    | MicroTurn
    | ModelOutput
    | BackgroundTask
    | BackgroundResult
    | DeadLetter
)
"""The union a reader decodes into; the `schema` tag picks the type."""
