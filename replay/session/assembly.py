"""Re-deriving a session's MicroTurns from its raw input events, to check the recorded ones.

Arrival order is not in the log: inputs travel on several topics, and which events a turn
included (and which were late) depends on the order the worker happened to read them in. So the
inputs are applied in the order the recording implies, and the assembler's rules must then give
back exactly the recorded turns:

1. SessionStarted first.
2. For each recorded turn k, in order: the events it included (its `event_ids`, in that order),
   except the event that closed it; then that closing event: its audio chunk (`closed_by="audio"`),
   the next turn's first video frame (`"video"`), a tick at (k+1)·200 ms (`"ticker"`), or
   SessionEnded (`"end"`). SessionEnded comes just before the final turn's closing chunk.
3. Inputs no recorded turn included, in log order, at the end (an event the live worker rejected
   after the final turn is rejected again; one it lost is reported as `unassembled`).

A re-derived turn matches when `MATCHED_FIELDS` are equal: the same event ids included in the same
order, the same late ids, the same payloads (audio, video, text, background), closed the same way,
`final` the same. So an event assigned to another turn, a late flag set wrongly, a frame or text
composed differently, or a payload that differs from its input event shows up as a divergence;
only the wall-clock field `ingest_wall_time_ns` (latency bookkeeping) is not compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from processors.assembler import InputEvent, SessionAssembly, TurnAssembler
from replay.session.recording import Recording
from schemas import AudioChunk, MicroTurn, SessionEnded, SessionStarted, VideoFrame
from schemas.clock import TURN_MS

MATCHED_FIELDS = ("event_ids", "late_event_ids", "audio", "video", "text", "background", "closed_by", "final")
"""MicroTurn fields a re-derived turn must share with the recorded one."""


@dataclass(frozen=True)
class Tick:
    """The worker's ticker closing the turns of a clock-less session up to `session_ms`."""

    session_ms: int


@dataclass(frozen=True)
class TurnMismatch:
    """A turn whose re-derivation differs from the recording."""

    turn: int
    """The turn."""
    fields: tuple[str, ...]
    """MicroTurn fields that differ, or ("missing_recorded",) / ("missing_rederived",)."""


@dataclass(frozen=True)
class AssemblyCheck:
    """The result of re-deriving every turn of a session."""

    turns: int
    """Turns compared (recorded or re-derived)."""
    mismatches: tuple[TurnMismatch, ...]
    """Turns that differ, by turn."""
    unassembled: tuple[str, ...]
    """Ids of input events no turn included (rejected after the end, or lost), in log order."""

    @property
    def identical(self) -> bool:
        return not self.mismatches


def arrival_order(recording: Recording) -> Iterator[InputEvent | Tick]:
    """The inputs in the order the recording implies (module docstring, rules 1 to 3)."""
    by_id = {e.event_id: e for e in recording.inputs}
    used: set[str] = set()
    starts = [e for e in recording.inputs if isinstance(e, SessionStarted)]
    ends = [e for e in recording.inputs if isinstance(e, SessionEnded)]
    used.update(e.event_id for e in starts + ends)
    yield from starts
    for index, turn in enumerate(recording.turns):
        included = [by_id[i] for i in turn.event_ids if i in by_id and i not in used]
        used.update(e.event_id for e in included)
        closer = None
        if turn.closed_by == "audio" and included and isinstance(included[-1], AudioChunk):
            closer = included.pop()
        yield from included
        if turn.final:
            yield from ends
            ends = []
        if closer is not None:
            yield closer
        elif turn.closed_by == "ticker":
            yield Tick((turn.seq + 1) * TURN_MS)
        elif turn.closed_by == "video":
            frame = _next_frame(recording.turns[index + 1 :], by_id, used)
            if frame is not None:
                used.add(frame.event_id)
                yield frame
    yield from ends
    yield from (e for e in recording.inputs if e.event_id not in used)


def _next_frame(later: tuple[MicroTurn, ...], by_id: dict[str, InputEvent], used: set[str]) -> VideoFrame | None:
    for turn in later:
        frames: list[VideoFrame] = []
        for i in turn.event_ids:
            event = by_id.get(i)
            if isinstance(event, VideoFrame) and i not in used:
                frames.append(event)
        if frames:
            return min(frames, key=lambda f: f.event_time_ms)
    return None


def rederive(recording: Recording) -> tuple[list[MicroTurn], list[str]]:
    """The turns the assembler closes from the recording's inputs, and the ids it rejected."""
    assembler, state = TurnAssembler(), SessionAssembly(recording.session_id)
    turns: list[MicroTurn] = []
    rejected: list[str] = []
    for step in arrival_order(recording):
        if isinstance(step, Tick):
            turns.extend(assembler.tick(state, step.session_ms, 0))
            continue
        applied = assembler.apply(state, step)
        turns.extend(applied.turns)
        if applied.rejected:
            rejected.append(step.event_id)
    return turns, rejected


def check_assembly(recording: Recording) -> AssemblyCheck:
    """Re-derive every turn and compare it with the recorded one (module docstring)."""
    derived, _ = rederive(recording)
    mine = {t.seq: t for t in derived}
    recorded = {t.seq: t for t in recording.turns}
    mismatches = []
    for k in sorted(mine.keys() | recorded.keys()):
        if k not in recorded:
            mismatches.append(TurnMismatch(k, ("missing_recorded",)))
        elif k not in mine:
            mismatches.append(TurnMismatch(k, ("missing_rederived",)))
        else:
            fields = tuple(f for f in MATCHED_FIELDS if getattr(mine[k], f) != getattr(recorded[k], f))
            if fields:
                mismatches.append(TurnMismatch(k, fields))
    included = {i for t in derived for i in t.event_ids}
    unassembled = tuple(
        e.event_id
        for e in recording.inputs
        if e.event_id not in included and not isinstance(e, SessionStarted | SessionEnded)
    )
    return AssemblyCheck(len(mine.keys() | recorded.keys()), tuple(mismatches), unassembled)
