"""Micro-turn assembly: a session's input events become one MicroTurn per 200 ms.

Rules (DESIGN.md): turn k collects the events whose event time falls in [200k, 200k+200) ms. It
closes when audio chunk k arrives (audio is the clock). Events arriving after their turn closed go
to the next open turn and are flagged late. Background results go into the first turn that closes
after they arrive. Duplicates (same event id) are dropped.

The end: inputs travel on several topics, so SessionEnded may overtake the last audio chunks. The
final turn therefore closes only when both are in: SessionEnded (which says how many audio chunks
were sent) and the last of those chunks. It takes every event still pending. A session without
audio ends with a final turn closed by SessionEnded itself. Events of a finished session are
returned as rejected, never assembled into a new session.

This module is pure: it never reads a clock and never touches Kafka, so the same code assembles
live and in replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import (
    AudioChunk,
    BackgroundResult,
    MicroTurn,
    SessionEnded,
    TextEvent,
    VideoFrame,
    event_id,
)
from schemas.events import TurnClose

TURN_MS = 200
InputEvent = AudioChunk | VideoFrame | TextEvent | BackgroundResult | SessionEnded


@dataclass
class SessionAssembly:
    """Assembly state of one session; what a restarted worker must get back to continue."""

    session_id: str
    next_turn: int = 0
    """The first turn not yet closed."""
    pending: list[VideoFrame | TextEvent] = field(default_factory=list)
    """Video and text events waiting for their turn, in arrival order."""
    background: list[BackgroundResult] = field(default_factory=list)
    """Background results waiting for the next turn to close."""
    seen: set[str] = field(default_factory=set)
    """Ids of every event applied so far (duplicate detection)."""
    last_chunk: AudioChunk | None = None
    """The session's last audio chunk, held until SessionEnded arrives."""
    end: SessionEnded | None = None
    """The SessionEnded event, once it arrived."""
    finished: bool = False
    """True once the final turn was emitted."""


@dataclass(frozen=True)
class Applied:
    """What applying one event did."""

    turns: list[MicroTurn]
    """Turns the event closed, in order."""
    rejected: str = ""
    """Why the event could not be assembled (empty when it was, or was a dropped duplicate)."""


class TurnAssembler:
    """Applies input events to a SessionAssembly and returns the MicroTurns they close."""

    def __init__(self, producer: str = "worker:assembler") -> None:
        self._producer = producer

    def apply(self, state: SessionAssembly, event: InputEvent) -> Applied:
        """Apply one event to its session's state."""
        if event.event_id in state.seen:
            return Applied([])
        if state.finished:
            return Applied([], f"session {state.session_id} already ended; {event.event_id} arrived after its final turn")
        state.seen.add(event.event_id)
        if isinstance(event, AudioChunk):
            return Applied(self._on_audio(state, event))
        if isinstance(event, SessionEnded):
            state.end = event
            return Applied(self._maybe_finish(state))
        if isinstance(event, BackgroundResult):
            state.background.append(event)
        else:
            state.pending.append(event)
        return Applied([])

    def _on_audio(self, state: SessionAssembly, chunk: AudioChunk) -> list[MicroTurn]:
        turn = chunk.event_time_ms // TURN_MS
        if turn < state.next_turn:  # an audio chunk for a closed turn cannot be applied any more
            return []
        closed = [self._close(state, k, None, "audio", final=False, wall_ns=chunk.wall_time_ns)
                  for k in range(state.next_turn, turn)]
        if chunk.last or (state.end is not None and turn + 1 >= state.end.audio_chunks):
            state.last_chunk = chunk
            return closed + self._maybe_finish(state)
        closed.append(self._close(state, turn, chunk, "audio", final=False, wall_ns=chunk.wall_time_ns))
        return closed

    def _maybe_finish(self, state: SessionAssembly) -> list[MicroTurn]:
        end = state.end
        if end is None:
            return []
        if state.last_chunk is not None:
            chunk = state.last_chunk
            return [self._close(state, chunk.event_time_ms // TURN_MS, chunk, "audio", True, chunk.wall_time_ns)]
        if end.audio_chunks > 0 and state.next_turn < end.audio_chunks:
            return []  # audio still on its way
        return [self._close(state, state.next_turn, None, "end", final=True, wall_ns=end.wall_time_ns)]

    def _close(
        self,
        state: SessionAssembly,
        turn: int,
        audio: AudioChunk | None,
        closed_by: TurnClose,
        final: bool,
        wall_ns: int,
    ) -> MicroTurn:
        end_ms = (turn + 1) * TURN_MS
        take = [e for e in state.pending if final or e.event_time_ms < end_ms]
        state.pending = [e for e in state.pending if not (final or e.event_time_ms < end_ms)]
        take.sort(key=lambda e: (e.event_time_ms, e.event_id))
        late = tuple(e.event_id for e in take if e.event_time_ms < turn * TURN_MS)
        texts = [e.text for e in take if isinstance(e, TextEvent)]
        frames = [e for e in take if isinstance(e, VideoFrame)]
        background, state.background = state.background, []
        included = [*take, *background] + ([audio] if audio is not None else [])
        state.next_turn = turn + 1
        state.finished = final
        return MicroTurn(
            event_id=event_id(state.session_id, "turn", turn),
            session_id=state.session_id,
            seq=turn,
            event_time_ms=turn * TURN_MS,
            turn=turn,
            producer=self._producer,
            audio=audio.samples if audio is not None else None,
            video=frames[-1].jpeg if frames else None,
            text="\n".join(texts),
            background="\n".join(r.result for r in background),
            event_ids=tuple(e.event_id for e in included),
            late_event_ids=late,
            closed_by=closed_by,
            final=final,
            ingest_wall_time_ns=max([wall_ns, *(e.wall_time_ns for e in included)]),
        )
