"""Rebuilding a worker's per-session state from the event log, on first sight of a session.

The log is the source of truth, so a worker keeps session state in memory and, the first time it
handles a record of a partition, rebuilds every session of that partition (new to it, or
inherited from a crashed worker) from the log: the MicroTurns already recorded, the sessions'
input events, the outputs already emitted. Records redelivered after a crash are then dropped by
the assembler's high-water marks and by the answered turns.

Cost: with a checkpoint of the partition (`processors.checkpoint`), the records after it: at most
about `CHECKPOINT_S` of the partition's traffic plus the checkpointed state, whatever the
retention; without one (a new topic set, or an unreadable checkpoint), one scan of each topic's
partition from its beginning, once per partition per worker process. (faust
tables were the first choice; their changelog recovery hangs after a SIGKILL with faust-streaming
0.15.3 + aiokafka 0.14, a long-known faust failure mode, so recovery stays in our hands.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from processors.assembler import InputEvent, SessionAssembly, TurnAssembler
from processors.checkpoint import Checkpoint
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


def input_topics(topics: Topics) -> list[str]:
    """The topics the assembler reads."""
    return [topics.session, topics.audio, topics.video, topics.text, topics.background_results]


class Loaded(NamedTuple):
    """A partition's sessions rebuilt from the log."""

    states: dict[str, SessionAssembly]
    """Assembly state of every session of the partition."""
    closed: list[MicroTurn]
    """Turns that rebuilding closed (not in the log yet: to be emitted)."""
    next_input: dict[str, int]
    """Input topic -> the partition's first offset after the checkpoint the rebuild started from (0
    without one): earlier records are reflected by the checkpoint's states and skipped by offset."""


async def load_partition(
    bootstrap: str, topics: Topics, partition: int, assembler: TurnAssembler, checkpoint: Checkpoint | None = None
) -> Loaded:
    """Every session of `partition` rebuilt from the log (from `checkpoint` on when given).

    Called once per partition per worker process, before its first record is handled. The scan
    reads up to the end offsets at call time; a session with no event before then is new, and
    every later event reaches the worker through its stream. `next_input` is where the checkpoint's
    states end (0 without one): the records from there on are handled again as they arrive, so the
    ones the rebuild applied are dropped as duplicates (per-stream high-water marks) and the ones it
    could not apply (undecodable, rejected) reach the dead-letter topic like any other.
    """
    names = [topics.turns, *input_topics(topics)]
    start: dict[tuple[str, int], int] = {}
    states: dict[str, SessionAssembly] = {}
    next_input = {name: 0 for name in input_topics(topics)}
    if checkpoint is not None:
        start = {(name, partition): offset for name, offset in checkpoint.inputs.items()}
        start[(topics.turns, partition)] = checkpoint.turns
        states = {state.session_id: state for state in checkpoint.sessions}
        next_input.update(checkpoint.inputs)
    records = await read_topics(bootstrap, names, topics.partitions, only_partition=partition, start=start)
    by_session: dict[str, list[object]] = {}
    for r in records:
        if r.event is not None:
            by_session.setdefault(r.event.session_id, []).append(r.event)
    closed: list[MicroTurn] = []
    for session_id, events in by_session.items():
        inputs: list[InputEvent] = [e for e in events if isinstance(e, tuple(_ORDER))]  # type: ignore[misc]
        # Replay order: as they would arrive live (by session time, audio last within a turn).
        inputs.sort(key=_live_order)
        state = states.get(session_id) or SessionAssembly(session_id)
        closed.extend(assembler.restore(state, first_per_turn(events), inputs))
        states[session_id] = state
    return Loaded(states, closed, next_input)


def _live_order(e: InputEvent) -> tuple[bool, bool, int, int, int]:
    return (type(e) is not SessionStarted, type(e) is SessionEnded, e.event_time_ms, _ORDER[type(e)], e.seq)


async def answered_in_partition(
    bootstrap: str, topics: Topics, partition: int, checkpoint: Checkpoint | None = None
) -> dict[str, int]:
    """Per session of `partition`, the highest turn with a ModelOutput in the log (the checkpoint's
    marks and the outputs after it, when given)."""
    start = {(topics.output, partition): checkpoint.output} if checkpoint is not None else {}
    records = await read_topics(  # only their turns are needed: the payloads stay encrypted
        bootstrap, [topics.output], topics.partitions, only_partition=partition, start=start, opened=False
    )
    answered: dict[str, int] = dict(checkpoint.answered) if checkpoint is not None else {}
    for r in records:
        if isinstance(r.event, ModelOutput):
            answered[r.event.session_id] = max(answered.get(r.event.session_id, -1), r.event.seq)
    return answered
