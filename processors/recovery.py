"""Rebuilding a worker's per-session state from the event log, on first sight of a session.

The log is the source of truth, so a worker keeps session state in memory and, the first time it
handles a record of a partition, rebuilds every session of that partition (new to it, or
inherited from a crashed worker) from the log: the MicroTurns already recorded, the sessions'
input events, the outputs already emitted. Records redelivered after a crash are then dropped by
the assembler's high-water marks and by the answered turns.

Cost: one scan of each topic's partition from its beginning, once per partition per worker
process (bounded by retention; a state checkpoint would bound it further). (faust
tables were the first choice; their changelog recovery hangs after a SIGKILL with faust-streaming
0.15.3 + aiokafka 0.14, a long-known faust failure mode, so recovery stays in our hands.)
"""

from __future__ import annotations

from collections.abc import Sequence

from processors.assembler import InputEvent, SessionAssembly, TurnAssembler
from schemas import (
    AudioChunk,
    BackgroundResult,
    MicroTurn,
    ModelOutput,
    SessionEnded,
    SessionStarted,
    TextEvent,
    Topics,
    VideoFrame,
)
from streams.log import read_topics

_ORDER = {SessionStarted: 0, TextEvent: 1, VideoFrame: 2, BackgroundResult: 3, AudioChunk: 4, SessionEnded: 5}


def first_per_turn(events: Sequence[object]) -> list[MicroTurn]:
    """The first MicroTurn recorded for each turn (the one that was answered), by turn."""
    first: dict[int, MicroTurn] = {}
    for event in events:
        if isinstance(event, MicroTurn):
            first.setdefault(event.seq, event)
    return [first[k] for k in sorted(first)]


async def load_partition(
    bootstrap: str, topics: Topics, partition: int, assembler: TurnAssembler
) -> tuple[dict[str, SessionAssembly], list[MicroTurn]]:
    """Every session of `partition` rebuilt from the log, and the turns rebuilding closed.

    Called once per partition per worker process, before its first record is handled. The scan
    reads up to the end offsets at call time; a session with no event before then is new, and
    every later event reaches the worker through its stream (redelivered ones are duplicates).
    """
    names = [topics.turns, topics.session, topics.audio, topics.video, topics.text, topics.background_results]
    records = await read_topics(bootstrap, names, topics.partitions, only_partition=partition)
    by_session: dict[str, list[object]] = {}
    for r in records:
        if r.event is not None:
            by_session.setdefault(r.event.session_id, []).append(r.event)
    states: dict[str, SessionAssembly] = {}
    closed: list[MicroTurn] = []
    for session_id, events in by_session.items():
        inputs: list[InputEvent] = [e for e in events if isinstance(e, tuple(_ORDER))]  # type: ignore[misc]
        # Replay order: as they would arrive live (by session time, audio last within a turn).
        inputs.sort(key=_live_order)
        state = SessionAssembly(session_id)
        closed.extend(assembler.restore(state, first_per_turn(events), inputs))
        states[session_id] = state
    return states, closed


def _live_order(e: InputEvent) -> tuple[bool, bool, int, int, int]:
    return (type(e) is not SessionStarted, type(e) is SessionEnded, e.event_time_ms, _ORDER[type(e)], e.seq)


async def answered_in_partition(bootstrap: str, topics: Topics, partition: int) -> dict[str, int]:
    """Per session of `partition`, the highest turn with a ModelOutput in the log."""
    records = await read_topics(bootstrap, [topics.output], topics.partitions, only_partition=partition)
    answered: dict[str, int] = {}
    for r in records:
        if isinstance(r.event, ModelOutput):
            answered[r.event.session_id] = max(answered.get(r.event.session_id, -1), r.event.seq)
    return answered
