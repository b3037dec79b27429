"""Rebuilding a worker's per-session state from the event log, on first sight of a session.

The log is the source of truth, so a worker keeps session state in memory and, the first time it
sees a session (new, or inherited from a crashed worker), rebuilds it from that session's
partition: the MicroTurns already recorded, the session's input events, the outputs already
emitted. Records redelivered after a crash are then dropped by the assembler's high-water marks and
by `answered_up_to`.

Cost: one scan of the session's partition of each topic, once per session per worker process. (faust
tables were the first choice; their changelog recovery hangs after a SIGKILL with faust-streaming
0.15.3 + aiokafka 0.14, a long-known faust failure mode, so recovery stays in our hands.)
"""

from __future__ import annotations

from collections.abc import Sequence

from processors.assembler import InputEvent, SessionAssembly, TurnAssembler
from replay.log import read_topics
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

_ORDER = {SessionStarted: 0, TextEvent: 1, VideoFrame: 2, BackgroundResult: 3, AudioChunk: 4, SessionEnded: 5}


def first_per_turn(events: Sequence[object]) -> list[MicroTurn]:
    """The first MicroTurn recorded for each turn (the one that was answered), by turn."""
    first: dict[int, MicroTurn] = {}
    for event in events:
        if isinstance(event, MicroTurn):
            first.setdefault(event.seq, event)
    return [first[k] for k in sorted(first)]


async def load_assembly(
    bootstrap: str, topics: Topics, session_id: str, partition: int, assembler: TurnAssembler
) -> tuple[SessionAssembly, list[MicroTurn]]:
    """The session's assembly state rebuilt from the log, and the turns rebuilding closed."""
    names = [topics.turns, topics.session, topics.audio, topics.video, topics.text, topics.background_results]
    records = await read_topics(bootstrap, names, topics.partitions, session_id, only_partition=partition)
    events = [r.event for r in records if r.event is not None]
    turns = first_per_turn(events)
    inputs: list[InputEvent] = [e for e in events if isinstance(e, tuple(_ORDER))]  # type: ignore[misc]
    # Replay order: as they would arrive live (by session time, audio last within a turn).
    inputs.sort(
        key=lambda e: (type(e) is not SessionStarted, type(e) is SessionEnded, e.event_time_ms, _ORDER[type(e)], e.seq)
    )
    state = SessionAssembly(session_id)
    closed = assembler.restore(state, turns, inputs)
    return state, closed


async def answered_up_to(bootstrap: str, topics: Topics, session_id: str, partition: int) -> int:
    """The highest turn of the session with a ModelOutput in the log (-1 when none)."""
    records = await read_topics(bootstrap, [topics.output], topics.partitions, session_id, only_partition=partition)
    return max((r.event.seq for r in records if isinstance(r.event, ModelOutput)), default=-1)
