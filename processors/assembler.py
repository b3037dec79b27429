"""Micro-turn assembly: a session's input events become one MicroTurn per 200 ms.

Rules (DESIGN.md): turn k collects the events whose event time falls in [200k, 200k+200) ms. It
closes when audio chunk k arrives (audio is the clock); in a session without audio, video frame k
closes it, and in a session with neither, the ticker does. Events arriving after their turn closed
go to the next open turn and are flagged late. Background results go into the first turn that
closes after they arrive. Duplicates are dropped: each input stream's events come from one
producer in order on one partition, so an event at or below its stream's high-water seq is a
duplicate (background results, which finish in any order, are checked by id).

Bounds: an event may move the session's clock at most `max_clock_jump_ms` beyond the end of the
open turn (audio chunks; video frames of a video-clocked session), no event time may be negative
or beyond `max_session_ms`, and a SessionEnded may not announce more than that. Events outside are
returned as rejected (the worker dead-letters them). So one event closes at most
`max_clock_jump_ms // TURN_MS + 2` turns, whatever it says. Text and frames that do not move the
clock are only held to `max_session_ms`: the input topics are consumed with some skew, so text
may legitimately arrive well ahead of a lagging audio clock.

The end: inputs travel on several topics, so SessionEnded may overtake the last chunks. The final
turn closes only when both are in: SessionEnded (which says how many audio chunks were sent) and
the last of those chunks. It takes every event still pending. Events of a finished session are
returned as rejected, never assembled into a new session.

This module is pure: it never reads a clock and never touches Kafka, so the same code assembles
live and in replay. A restarted worker rebuilds `SessionAssembly` from the log (`processors.recovery`).
"""

from __future__ import annotations

import msgspec

from schemas import (
    AudioChunk,
    BackgroundResult,
    MicroTurn,
    SessionEnded,
    SessionStarted,
    TextEvent,
    VideoFrame,
)
from schemas.clock import TURN_MS
from schemas.envelope import Stamper
from schemas.events import TurnClose

InputEvent = SessionStarted | AudioChunk | VideoFrame | TextEvent | BackgroundResult | SessionEnded
INPUT_TYPES = (SessionStarted, AudioChunk, VideoFrame, TextEvent, BackgroundResult, SessionEnded)
"""The event types the assembler takes (the members of InputEvent), for isinstance checks."""
_STREAMS: dict[type, str] = {
    SessionStarted: "session",
    SessionEnded: "session",
    AudioChunk: "audio",
    VideoFrame: "video",
    TextEvent: "text",
}


class SessionAssembly(msgspec.Struct):
    """Assembly state of one session (mutable; in the worker's memory, rebuilt from the log after a restart)."""

    session_id: str
    clock: str = "unknown"
    """What closes turns: "audio", "video" or "ticker"; "unknown" until SessionStarted says."""
    next_turn: int = 0
    """The first turn not yet closed."""
    high_water: dict[str, int] = {}
    """Highest seq applied per input stream (duplicate detection)."""
    results_seen: list[str] = []
    """Ids of background results applied (they arrive in any order)."""
    pending: list[VideoFrame | TextEvent] = []
    """Video and text events waiting for their turn, in arrival order."""
    background: list[BackgroundResult] = []
    """Background results waiting for the next turn to close."""
    last_chunk: AudioChunk | None = None
    """The session's last audio chunk, held until SessionEnded arrives."""
    end: SessionEnded | None = None
    """The SessionEnded event, once it arrived."""
    finished: bool = False
    """True once the final turn was emitted."""


class Applied(msgspec.Struct, frozen=True):
    """What applying one event did."""

    turns: list[MicroTurn]
    """Turns the event closed, in order."""
    rejected: str = ""
    """Why the event could not be assembled (empty when it was, or was a dropped duplicate)."""


MAX_CLOCK_JUMP_MS = 5_000
"""Default of how far (ms) one event may move a session's clock beyond the end of the open turn."""
MAX_SESSION_MS = 24 * 3600 * 1000
"""Default longest session (ms): no event time beyond it."""


class TurnAssembler:
    """Applies input events to a SessionAssembly and returns the MicroTurns they close."""

    def __init__(
        self,
        producer: str = "worker:assembler",
        max_clock_jump_ms: int = MAX_CLOCK_JUMP_MS,
        max_session_ms: int = MAX_SESSION_MS,
    ) -> None:
        if max_clock_jump_ms < 0 or max_session_ms <= 0:
            raise ValueError(
                f"expected max_clock_jump_ms >= 0 and max_session_ms > 0; got {max_clock_jump_ms}, {max_session_ms}"
            )
        self._producer = producer
        self._max_ahead_turns = max_clock_jump_ms // TURN_MS
        self._max_session_ms = max_session_ms

    def apply(self, state: SessionAssembly, event: InputEvent) -> Applied:
        """Apply one event to its session's state (mutated in place)."""
        refused = self._out_of_bounds(state, event)
        if refused:
            return Applied([], refused)
        if self._is_duplicate(state, event):
            return Applied([])
        if state.finished:
            if isinstance(event, SessionStarted | SessionEnded):
                return Applied([])
            return Applied(
                [], f"session {state.session_id} already ended; {event.event_id} arrived after its final turn"
            )
        self._mark_seen(state, event)
        if isinstance(event, SessionStarted):
            state.clock = "audio" if event.has_audio else "video" if event.has_video else "ticker"
            return Applied(self._close_by_video(state) if state.clock == "video" else [])
        if isinstance(event, AudioChunk):
            return Applied(self._on_audio(state, event))
        if isinstance(event, SessionEnded):
            state.end = event
            return Applied(self._maybe_finish(state))
        if isinstance(event, BackgroundResult):
            state.background.append(event)
            return Applied([])
        state.pending.append(event)
        if state.clock != "video":
            return Applied([])
        closed = self._close_by_video(state)
        return Applied(closed + self._maybe_finish(state))

    def _out_of_bounds(self, state: SessionAssembly, event: InputEvent) -> str:
        """Why `event` lies outside the session's bounds, or "" when it does not."""
        what = f"{type(event).__name__} {event.event_id}"
        if event.event_time_ms < 0 or event.seq < 0:
            return f"{what}: expected event_time_ms >= 0 and seq >= 0; got {event.event_time_ms} and {event.seq}"
        if event.event_time_ms > self._max_session_ms:
            return (
                f"{what}: expected event_time_ms within the longest session ({self._max_session_ms} ms); "
                f"got {event.event_time_ms}"
            )
        if isinstance(event, SessionEnded):
            if not 0 <= event.turns <= self._max_session_ms // TURN_MS or event.audio_chunks < 0:
                return (
                    f"{what}: expected turns within the longest session ({self._max_session_ms // TURN_MS}) and "
                    f"audio_chunks >= 0; got {event.turns} and {event.audio_chunks}"
                )
            return ""
        # Frames that arrive before SessionStarted names the clock are held; `_close_by_video` bounds them.
        moves_clock = isinstance(event, AudioChunk) or (isinstance(event, VideoFrame) and state.clock == "video")
        limit = state.next_turn + self._max_ahead_turns
        if moves_clock and event.event_time_ms // TURN_MS > limit:
            return (
                f"{what}: {event.event_time_ms} ms is too far ahead of the session clock: expected at most "
                f"{(limit + 1) * TURN_MS - 1} ms (open turn {state.next_turn} + {self._max_ahead_turns * TURN_MS} ms)"
            )
        return ""

    def restore(self, state: SessionAssembly, turns: list[MicroTurn], inputs: list[InputEvent]) -> list[MicroTurn]:
        """Rebuild a session's state from the log: its recorded turns and its input events.

        `turns` are the first MicroTurn recorded per turn, `inputs` the session's input events in
        log order (with a `state` from a checkpoint: those recorded after it). Events a recorded
        turn included are marked seen; the others are applied as if they arrived now. Returns
        the turns that applying them closes (to be emitted).
        """
        included = {i for t in turns for i in t.event_ids}
        if turns:  # `state` may come from a checkpoint: recorded turns only move it forward
            state.next_turn = max(state.next_turn, max(t.seq for t in turns) + 1)
            state.finished = state.finished or any(t.final for t in turns)
            state.pending = [e for e in state.pending if e.event_id not in included]
            state.background = [e for e in state.background if e.event_id not in included]
        closed: list[MicroTurn] = []
        for event in inputs:
            if event.event_id in included:
                self._mark_seen(state, event)
            else:
                closed.extend(self.apply(state, event).turns)
        return closed

    def tick(self, state: SessionAssembly, session_ms: int, wall_ns: int) -> list[MicroTurn]:
        """Close the turns of a ticker-clocked session that ended before `session_ms`.

        Called by the worker's ticker with the session's elapsed time; the closing is recorded
        in each turn (`closed_by="ticker"`) so replay never needs the clock.
        """
        if state.clock != "ticker" or state.finished:
            return []
        return [
            self._close(state, k, None, "ticker", False, wall_ns) for k in range(state.next_turn, session_ms // TURN_MS)
        ]

    @staticmethod
    def _is_duplicate(state: SessionAssembly, event: InputEvent) -> bool:
        if isinstance(event, BackgroundResult):
            return event.event_id in state.results_seen
        stream = _STREAMS[type(event)]
        return event.seq <= state.high_water.get(stream, -1)

    @staticmethod
    def _mark_seen(state: SessionAssembly, event: InputEvent) -> None:
        if isinstance(event, BackgroundResult):
            state.results_seen.append(event.event_id)
        else:
            state.high_water[_STREAMS[type(event)]] = event.seq

    def _on_audio(self, state: SessionAssembly, chunk: AudioChunk) -> list[MicroTurn]:
        state.clock = "audio"
        turn = chunk.event_time_ms // TURN_MS
        if turn < state.next_turn:  # an audio chunk for a closed turn cannot be applied any more
            return []
        closed = [self._close(state, k, None, "audio", False, chunk.wall_time_ns) for k in range(state.next_turn, turn)]
        if chunk.last or (state.end is not None and turn + 1 >= state.end.audio_chunks):
            state.last_chunk = chunk
            return closed + self._maybe_finish(state)
        closed.append(self._close(state, turn, chunk, "audio", False, chunk.wall_time_ns))
        return closed

    def _close_by_video(self, state: SessionAssembly) -> list[MicroTurn]:
        """In a video-clocked session, frame k closes turn k-1 (turn k stays open for its text)."""
        frames = [e.event_time_ms // TURN_MS for e in state.pending if isinstance(e, VideoFrame)]
        if not frames:
            return []
        wall = max(e.wall_time_ns for e in state.pending)
        upto = min(max(frames), state.next_turn + self._max_ahead_turns)  # frames held before the clock was named
        return [self._close(state, k, None, "video", False, wall) for k in range(state.next_turn, upto)]

    def _maybe_finish(self, state: SessionAssembly) -> list[MicroTurn]:
        end = state.end
        if end is None:
            return []
        if state.last_chunk is not None:
            chunk = state.last_chunk
            return [self._close(state, chunk.event_time_ms // TURN_MS, chunk, "audio", True, chunk.wall_time_ns)]
        if end.audio_chunks > 0 and state.next_turn < end.audio_chunks:
            return []  # audio still on its way
        closed = []
        if state.clock == "video" and end.turns - 1 > state.next_turn + self._max_ahead_turns:
            return []  # frames still on their way: they move the clock, each within the bound
        if state.clock == "video" and end.turns > state.next_turn + 1:
            closed = [
                self._close(state, k, None, "video", False, end.wall_time_ns)
                for k in range(state.next_turn, end.turns - 1)
            ]
        return [*closed, self._close(state, state.next_turn, None, "end", True, end.wall_time_ns)]

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
        if final:
            state.last_chunk, state.pending = None, []
        # Wall time 0: this module never reads a clock; the worker stamps it when it sends the turn.
        envelope = Stamper(self._producer, state.session_id).stamp("turn", turn, turn * TURN_MS, turn, wall_time_ns=0)
        return MicroTurn(
            **envelope,
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
